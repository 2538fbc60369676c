"""QR codes drawn as inline SVG (no image file, nothing fetched): one path of unit squares."""

import qrcode
from django.utils.html import escape
from qrcode.constants import ERROR_CORRECT_M

BORDER = 4
"""The quiet zone the QR specification asks for, in modules."""


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the QR code of ``data`` (quiet zone included), as the qrcode library makes them."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_svg(data: str, *, label: str) -> str:
    """An ``<svg>`` element drawing the QR code of ``data``, with ``label`` as its text alternative."""
    matrix = qr_matrix(data)
    label = escape(label)
    size = len(matrix)
    cells = "".join(f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark)
    return (f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
            f'aria-label="{label}" shape-rendering="crispEdges"><title>{label}</title>'
            f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{cells}"/></svg>')
