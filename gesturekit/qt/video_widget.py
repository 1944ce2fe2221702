"""VideoWidget: shows BGR numpy frames, scaled to fit with the aspect ratio kept."""

from __future__ import annotations

import numpy as np

from ..errors import missing_extra

try:
    from PyQt6.QtCore import QRectF, QSize, Qt
    from PyQt6.QtGui import QColor, QImage, QPainter
    from PyQt6.QtWidgets import QSizePolicy, QWidget
except ImportError as e:  # the qt extra is optional
    raise missing_extra("qt", "PyQt6") from e


def frame_to_qimage(frame: np.ndarray) -> QImage:
    """A deep-copied QImage of an ``(H, W, 3)`` uint8 BGR frame, or gray ``(H, W)`` / ``(H, W, 1)``,
    or BGRA ``(H, W, 4)`` (alpha ignored)."""
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise ValueError(f"frame: expected uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]   # a screen grab's alpha is often 0: drawn as such it would show nothing
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.ndim == 3 and a.shape[2] == 3:
        fmt = QImage.Format.Format_BGR888
    else:
        raise ValueError(f"frame: expected (H, W, 3) BGR, (H, W, 4) BGRA or (H, W) gray, got shape {a.shape}")
    if a.size == 0:   # e.g. an empty crop: painting it would divide by zero and abort the app
        raise ValueError(f"frame: empty, shape {a.shape}")
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    # .copy(): the QImage must own its pixels, not borrow the numpy buffer.
    return QImage(a.data, w, h, int(a.strides[0]), fmt).copy()


class VideoWidget(QWidget):
    """Paints the latest frame, letterboxed to keep its aspect ratio.

    ``set_frame`` is cheap and must be called on the GUI thread (from a worker,
    emit a signal carrying the frame). :attr:`frame_rect` is where the frame
    landed, for mapping clicks back to frame pixels.
    """

    def __init__(self, parent: QWidget | None = None, background: str = "#202020"):
        super().__init__(parent)
        self._image: QImage | None = None
        self._background = QColor(background)
        self.frame_rect = QRectF()
        self.frames_shown = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)

    def set_frame(self, frame: np.ndarray) -> None:
        """Show ``frame`` (BGR uint8; gray and BGRA too) on the next paint."""
        self._image = frame_to_qimage(frame)
        self.frames_shown += 1
        self.update()

    def clear(self) -> None:
        self._image = None
        self.update()

    @property
    def image(self) -> QImage | None:
        """The frame being shown (a QImage) or None."""
        return self._image

    def sizeHint(self) -> QSize:
        if self._image is not None:
            return self._image.size()
        return QSize(640, 480)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), self._background)
            if self._image is None:
                p.setPen(QColor("#a0a0a0"))
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no video")
                return
            iw, ih = self._image.width(), self._image.height()
            s = min(self.width() / iw, self.height() / ih)
            w, h = iw * s, ih * s
            self.frame_rect = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(self.frame_rect, self._image)
        finally:
            p.end()
