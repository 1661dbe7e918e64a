"""Makes the JPEG/TIFF prompt-input fixtures and their reference pixels (see README.md).

JPEGs are encoded and decoded by the system libjpeg-turbo through jt.c (decoding with libjpeg's defaults, as Pillow
does: ISLOW IDCT, fancy upsampling); TIFFs are written by the system libtiff through ctypes, and their reference is the
array written. Run from this folder: gcc -O2 -o /tmp/jt jt.c -ljpeg && python3 make_images.py /tmp/jt
"""
import ctypes
import gzip
import struct
import subprocess
import sys

import numpy as np

JT = sys.argv[1]


def golden_axial():
    """The golden axial slice (uint8, (1,181,217) Fortran order on disk) as a (181, 217) array."""
    b = gzip.open("../samri/slices/ch2_axial_k080.nii.gz").read()
    dims = struct.unpack("<8h", b[40:56])
    off = int(struct.unpack("<f", b[108:112])[0])
    h, w = dims[2], dims[3]
    return np.frombuffer(b[off:off + h * w], np.uint8).reshape(w, h).T.copy()


def colour(g):
    """An RGB image with chroma: R the slice, G the slice flipped left-right, B its negative shifted down."""
    return np.stack([g, g[:, ::-1], 255 - np.roll(g, 17, axis=0)], axis=-1).astype(np.uint8)


def jpeg(name, img, quality, sub, prog=False):
    h, w = img.shape[:2]
    head = b"P5" if img.ndim == 2 else b"P6"
    with open("/tmp/_in.pnm", "wb") as f:
        f.write(head + b"\n%d %d\n255\n" % (w, h) + img.tobytes())
    subprocess.run([JT, "enc", "/tmp/_in.pnm", name + ".jpg", str(quality), sub] + (["prog"] if prog else []), check=True)
    print(name, subprocess.run([JT, "dec", name + ".jpg", name + ".ref.raw"], check=True, capture_output=True,
                               text=True).stdout.strip())


lib = ctypes.CDLL("libtiff.so.6")
lib.TIFFOpen.restype = ctypes.c_void_p
lib.TIFFOpen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
lib.TIFFWriteScanline.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint16]
lib.TIFFWriteDirectory.argtypes = [ctypes.c_void_p]
lib.TIFFClose.argtypes = [ctypes.c_void_p]


def tiff(name, pages, compression, predictor=1, big_endian=False, rows_per_strip=16):
    """Writes `pages` (each (H,W) or (H,W,3), uint8 or uint16) with libtiff; the reference is the first page."""
    t = lib.TIFFOpen((name + ".tif").encode(), b"wb" if big_endian else b"wl")
    for img in pages:
        h, w = img.shape[:2]
        spp = 1 if img.ndim == 2 else img.shape[2]
        bps = img.dtype.itemsize * 8
        s = lambda tag, v: lib.TIFFSetField(ctypes.c_void_p(t), ctypes.c_uint32(tag), ctypes.c_uint32(v))
        s(256, w), s(257, h), s(258, bps), s(277, spp), s(262, 1 if spp == 1 else 2), s(259, compression)
        s(284, 1), s(278, rows_per_strip)
        if predictor != 1:
            s(317, predictor)
        rows = np.ascontiguousarray(img.astype(img.dtype.newbyteorder("=")))
        for r in range(h):
            assert lib.TIFFWriteScanline(t, rows[r].ctypes.data, r, 0) == 1
        lib.TIFFWriteDirectory(t)
    lib.TIFFClose(t)
    pages[0].astype(pages[0].dtype.newbyteorder("<")).tofile(name + ".ref.raw")
    print(name, pages[0].shape, pages[0].dtype, "compression", compression, "predictor", predictor,
          "MM" if big_endian else "II")


g = golden_axial()
crop = g[60:108, 70:134]  # 48 x 64
jpeg("axial_grey_q90", g, 90, "444")
jpeg("axial_rgb420_q90", colour(g), 90, "420")
jpeg("crop_rgb422_q75_prog", colour(crop), 75, "422", prog=True)
tiff("axial_grey8_lzw", [g], 5)
tiff("crop_grey8_none", [crop], 1)
g16 = (crop.astype(np.uint16) * 200 + np.arange(64, dtype=np.uint16)[None, :] * 7).astype(np.uint16)
tiff("crop_grey16_deflate_pred_mm", [g16], 8, predictor=2, big_endian=True)
tiff("crop_rgb8_lzw_pred", [colour(crop)], 5, predictor=2)
tiff("crop_rgb16_none", [np.stack([g16, g16[:, ::-1], 65535 - g16], axis=-1)], 1, big_endian=True)
tiff("crop_grey8_two_pages", [crop, crop[::-1]], 1)
