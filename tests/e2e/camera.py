"""A camera for the browser tests: Chromium's fake capture device playing a Y4M file of QR codes.

`qr_video(path, texts)` writes a looping video that shows each text's QR code in turn (grey-scale
frames, 4:2:0, the plain format Chromium's `--use-file-for-fake-video-capture` reads), and
`fake_camera(path)` gives the flags that make it the camera every page of the browser sees, with
the permission prompt answered yes."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

WIDTH, HEIGHT, FPS = 640, 480, 10


def _frame(text: str) -> bytes:
    """One frame's luma: the code black on white, centred, as large as the frame allows."""
    png = io.BytesIO()
    segno.make_qr(text, error="m").save(png, kind="png", scale=1, border=4)
    png.seek(0)
    code = Image.open(png).convert("L")
    side = (min(WIDTH, HEIGHT) - 40) // code.size[0] * code.size[0]
    code = code.resize((side, side), Image.Resampling.NEAREST)
    canvas = Image.new("L", (WIDTH, HEIGHT), 255)
    canvas.paste(code, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    return canvas.tobytes()


def qr_video(path: Path, texts: list[str], seconds_each: float = 1.5) -> Path:
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2) * 2)  # no colour
    frames = max(1, round(seconds_each * FPS))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for text in texts:
            luma = _frame(text)
            for _ in range(frames):
                out.write(b"FRAME\n" + luma + chroma)
    return path


def fake_camera(video: Path) -> tuple[str, ...]:
    return ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}")
