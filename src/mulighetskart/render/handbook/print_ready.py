"""The print edition as a print shop takes it: DeviceCMYK colour, a CMYK output intent, no links.

WeasyPrint and librsvg draw in RGB. The joined print book is made print-ready in one pass:
every `rg`/`RG` in the pages and in the forms and patterns they draw (the figures too)
becomes `k`/`K`. A colour that is a theme token's screen value prints as that token's CMYK
value (designers own both, black text is 0 0 0 100); any other colour goes through the
printing condition's ICC profile (littlecms, relative colorimetric). The profile becomes the
PDF/X-4 output intent, transparency groups blend in DeviceCMYK, and the link annotations a
printed page cannot use are dropped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ...errors import BuildError, Problem
from ...layout.handbook import HandbookStyle
from ...theme import Theme

RGB_OPERATORS = {"rg": "k", "RG": "K"}
Rgb = tuple[int, int, int]
Cmyk = tuple[float, float, float, float]


@dataclass(frozen=True)
class PrintColour:
    """What the print pass needs, picklable for the process that joins the print edition."""

    tokens: dict[Rgb, Cmyk]  # a token's screen value: its print value
    profile: bytes  # CMYK ICC profile of the printing condition
    identifier: str
    info: str
    registry: str


def print_colour(theme: Theme, style: HandbookStyle) -> PrintColour:
    cond = style.print_condition
    tokens = {_rgb(token.screen): token.cmyk() for _, token in sorted(theme.print_colours.items())}
    return PrintColour(tokens, (theme.layouts / cond.profile).read_bytes(), cond.identifier, cond.info, cond.registry)


def condition_problems(theme: Theme, style: HandbookStyle) -> list[Problem]:
    """A profile that is missing or not CMYK, and two tokens that look alike on screen but print
    differently (the print pass knows a token by its screen value)."""
    cond, problems = style.print_condition, []
    path = theme.layouts / cond.profile
    if not path.is_file():
        problems.append(Problem(cond.loc.of("profile"), f"ICC profile not found: {cond.profile}", "give a path relative to the layouts folder"))
    elif _colour_space(path.read_bytes()) != b"CMYK":
        problems.append(Problem(cond.loc.of("profile"), f"{cond.profile} is not a CMYK profile",
                                "the print edition needs a CMYK output profile such as FOGRA39"))
    seen: dict[str, str] = {}
    for name, token in sorted(theme.print_colours.items()):
        other = seen.setdefault(token.screen.lower(), name)
        if other != name and theme.print_colours[other].print != token.print:
            problems.append(Problem(token.loc.of("print"), f"colour token '{name}' has the screen value of '{other}' but another print value",
                                    "give one of them another screen value, or both the same print value"))
    return problems


def _colour_space(icc: bytes) -> bytes:
    return icc[16:20].strip() if len(icc) >= 128 else b""


def _rgb(hex_colour: str) -> Rgb:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


# --------------------------------------------------------------------------- the pass


def make_print_ready(pdf, colour: PrintColour) -> None:
    """Turn the joined print book into DeviceCMYK with a CMYK output intent, without links."""
    cmyk = dict(colour.tokens)  # grows by the other colours as they are met
    for stream in _drawn_streams(pdf):  # one at a time, so a 10x book's parsed streams are never all in memory
        ops = _operations(stream)
        cmyk.update(_through_profile(sorted(set(_rgb_colours(stream, ops)) - cmyk.keys()), colour.profile))
        _recolour(pdf, stream, ops, cmyk)
        _blend_in_cmyk(stream)
        _drop_rgb_spaces(stream.get("/Resources", {}))
    for page in pdf.pages:
        _drop_links(page.obj)
    _set_output_intent(pdf, colour)


def _drawn_streams(pdf):
    """Every page and every form and tiling pattern drawn from one, each once, in page order."""
    seen = set()
    stack = [page.obj for page in reversed(pdf.pages)]
    while stack:
        obj = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        resources = obj.get("/Resources", {})
        inner = [x for kind in ("/XObject", "/Pattern") for _, x in sorted(resources.get(kind, {}).items())]
        stack += [x for x in reversed(inner) if x.get("/Subtype") == "/Form" or x.get("/PatternType") == 1]
        yield obj


def _blend_in_cmyk(obj) -> None:
    group = obj.get("/Group")
    if group is not None and "/CS" in group:
        import pikepdf

        group.CS = pikepdf.Name.DeviceCMYK


def _is_rgb(space) -> bool:
    import pikepdf

    if isinstance(space, pikepdf.Name):
        return space == pikepdf.Name.DeviceRGB
    return isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == pikepdf.Name.ICCBased and int(space[1].get("/N", 0)) == 3


def _rgb_space_names(resources) -> set[str]:
    spaces = resources.get("/ColorSpace", {})
    return {"/DeviceRGB"} | {name for name in spaces if _is_rgb(spaces[name])}


def _drop_rgb_spaces(resources) -> None:
    """WeasyPrint lists its sRGB space on every page; once recoloured nothing draws with it."""
    spaces = resources.get("/ColorSpace")
    if spaces is None:
        return
    for name in sorted(_rgb_space_names(resources) & set(spaces.keys())):
        del spaces[name]
    if not spaces.keys():
        del resources["/ColorSpace"]


def _operations(stream) -> list:
    import pikepdf

    return list(pikepdf.parse_content_stream(stream))


def _rgb_colours(stream, ops):
    rgb_spaces = _rgb_space_names(stream.get("/Resources", {}))
    for operands, op in ops:
        if str(op) in RGB_OPERATORS:
            yield _as_rgb(operands)
        elif str(op) in ("cs", "CS") and str(operands[0]) in rgb_spaces:
            raise BuildError("the print edition draws in an RGB colour space the print pass does not convert (only rg and RG)")


def _as_rgb(operands) -> Rgb:
    return tuple(min(255, max(0, round(float(v) * 255))) for v in operands)


def _through_profile(colours: list[Rgb], profile: bytes) -> dict[Rgb, Cmyk]:
    if not colours:
        return {}
    from PIL import Image, ImageCms

    strip = Image.new("RGB", (len(colours), 1))
    strip.putdata(colours)
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(profile)), "RGB", "CMYK",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    converted = ImageCms.applyTransform(strip, transform).getdata()
    return {rgb: tuple(round(v / 255, 3) for v in cmyk) for rgb, cmyk in zip(colours, converted, strict=True)}


def _recolour(pdf, stream, ops, cmyk: dict[Rgb, Cmyk]) -> None:
    import pikepdf

    if not any(str(op) in RGB_OPERATORS for _, op in ops):
        return
    recoloured = [_in_cmyk(operands, op, cmyk) if str(op) in RGB_OPERATORS else instruction for instruction in ops for operands, op in (instruction,)]
    data = pikepdf.unparse_content_stream(recoloured)
    if isinstance(stream, pikepdf.Stream):
        stream.write(data)
    else:  # a page: its contents as one stream
        stream.Contents = pdf.make_stream(data)


def _in_cmyk(operands, op, cmyk: dict[Rgb, Cmyk]):
    import pikepdf

    return pikepdf.ContentStreamInstruction([_number(v) for v in cmyk[_as_rgb(operands)]], pikepdf.Operator(RGB_OPERATORS[str(op)]))


def _number(value: float):
    """An integer where the value is one: 0 0 0 1 k, as a print shop's preflight reads it."""
    return int(value) if float(value).is_integer() else value


def _drop_links(page) -> None:
    annots = page.get("/Annots")
    if annots is None:
        return
    kept = [a for a in annots if a.get("/Subtype") != "/Link"]
    if kept:
        page.Annots = kept
    else:
        del page["/Annots"]


def _set_output_intent(pdf, colour: PrintColour) -> None:
    import pikepdf

    profile = pdf.make_stream(colour.profile, N=4)
    intent = pikepdf.Dictionary(Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX, OutputConditionIdentifier=pikepdf.String(colour.identifier),
                                RegistryName=pikepdf.String(colour.registry), Info=pikepdf.String(colour.info), DestOutputProfile=profile)
    pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(intent)])
    pdf.trailer.Info.GTS_PDFXVersion = pikepdf.String("PDF/X-4")
