"""The seed's story per standard/separable pair, in one table each: size, accuracy, time and fit
of the two networks, the realised ratio separable / standard of each, and the seed's formula
1/N + 1/D_K^2 beside the ratios it predicts (MACs and weights). Every absent figure carries its
reason in a note under the table."""

from __future__ import annotations

from pipeline.board import Board
from pipeline.records import ModelResults, RunManifest
from pipeline.report.figures import Figure, accuracy_firmware, estimated_ms
from pipeline.report.tables import fmt, table


def pair_key(model: ModelResults) -> tuple:
    spec = model.built.spec
    return (spec.alpha, spec.resolution, spec.channels, spec.blocks, spec.classes)


def pairs(models: list[ModelResults]) -> list[tuple[ModelResults, ModelResults]]:
    """(standard, separable) models that built, with the same alpha, resolution, channels,
    blocks and classes."""
    built = [m for m in models if m.ok]
    standard = {pair_key(m): m for m in built if m.built.spec.conv == "standard"}
    return [(standard[pair_key(m)], m) for m in built if m.built.spec.conv == "separable" and pair_key(m) in standard]


def _ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


class Notes:
    """Footnotes for absent figures: the same reason gets the same number."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def cell(self, figure: Figure, digits: int = 3) -> str:
        if figure.value is not None:
            return fmt(figure.value, digits)
        if figure.note not in self.reasons:
            self.reasons.append(figure.note)
        return f"–[{self.reasons.index(figure.note) + 1}]"

    def lines(self) -> list[str]:
        return [f"[{i}] {reason}" + ("  " if i < len(self.reasons) else "") for i, reason in enumerate(self.reasons, 1)]


def story_sentence(standard: ModelResults, separable: ModelResults) -> str:
    """Why the counted network ratio is not the formula's: the first conv and the classifier are
    the same standard layers in both networks."""
    seed, macs = separable.built.seed, separable.built.macs
    formula = seed.blocks_formula_ratio
    if formula is None:
        return f"`{separable.name}` has no separable block: nothing for the formula to predict."
    counted = macs / standard.built.macs
    side = "above" if counted > formula else "below" if counted < formula else "equal to"
    fixed = seed.first_conv_macs + seed.classifier_macs
    std_seed = standard.built.seed
    blocks_std = standard.built.macs - std_seed.first_conv_macs - std_seed.classifier_macs
    text = (
        f"The counted network ratio {counted:.3f} is {side} the formula's {formula:.3f} for the "
        f"separable blocks because the first 3×3 conv ({seed.first_conv_macs:,} MACs) and the "
        f"classifier ({seed.classifier_macs:,} MACs) are the same standard layers in both networks: "
        f"{fixed / macs:.1%} of the separable network's MACs."
    )
    if blocks_std:
        blocks = (macs - fixed) / blocks_std
        exact = abs(blocks - formula) <= 1e-9 * formula
        text += f" Over the blocks alone the two .tflite files give {blocks:.3f}" + (
            ", the formula exactly."
            if exact
            else f", not the formula's {formula:.3f}: the pair's blocks differ in shape (check the zoo)."
        )
    return text


def pair_table(
    standard: ModelResults, separable: ModelResults, board: Board, kernels: str | None, manifest: RunManifest | None
) -> list[str]:
    s, p = standard.built, separable.built
    notes = Notes()
    formula = p.seed.blocks_formula_ratio

    def row(label: str, a: Figure, b: Figure, seed: str = "", digits: int = 3, ratio: bool = True) -> list:
        realised = _ratio(b.value, a.value) if ratio else None
        return [label, notes.cell(a, digits), notes.cell(b, digits), fmt(realised) if realised else "", seed]

    seed_text = f"{formula:.3f} over the blocks" if formula is not None else ""
    rows = [
        row("MACs", Figure(s.macs), Figure(p.macs), seed_text),
        row("weights (params)", Figure(s.params), Figure(p.params), seed_text),
        row("model flash B", Figure(s.flash_bytes), Figure(p.flash_bytes)),
        row("arena reserved B", Figure(s.arena.reserved_bytes), Figure(p.arena.reserved_bytes)),
        row("accuracy float", Figure(s.accuracy_float), Figure(p.accuracy_float), ratio=False),
        row("accuracy int8 (TFLite reference kernels)", Figure(s.accuracy_int8), Figure(p.accuracy_int8), ratio=False),
    ]
    if kernels is not None:
        rows.append(
            row(
                f"accuracy on the firmware ({kernels})",
                accuracy_firmware(standard, kernels, manifest),
                accuracy_firmware(separable, kernels, manifest),
                ratio=False,
            )
        )
        ms_s, ms_p = estimated_ms(standard, kernels, manifest), estimated_ms(separable, kernels, manifest)
        source = "measured" if ms_s.note == ms_p.note == "board" else "estimated"
        rows.append(
            row(f"ms on the {board.chip} @ {board.clock_hz / 1e6:g} MHz ({kernels}, {source})", ms_s, ms_p, digits=1)
        )
    fits_s, fits_p = s.fit(board.key), p.fit(board.key)
    rows.append(
        [f"fits the {board.name}", fmt(fits_s.fits) if fits_s else "–", fmt(fits_p.fits) if fits_p else "–", "", ""]
    )
    spec = p.spec
    lines = [
        "",
        f"### {standard.name} / {separable.name} (α {spec.alpha:g}, "
        f"{spec.resolution}×{spec.resolution}×{spec.channels}, {spec.blocks} blocks)",
        "",
        table(["", "standard", "separable", "separable / standard", "seed's formula 1/N + 1/D_K²"], rows),
    ]
    if notes.reasons:
        lines += [""] + notes.lines()
    for model, fit in ((standard, fits_s), (separable, fits_p)):
        if fit is not None and not fit.fits:
            lines += [
                "",
                f"`{model.name}` is not deployable on the {board.name} ({'; '.join(fit.reasons)}); "
                "it is emulated for the comparison.",
            ]
    lines += ["", story_sentence(standard, separable)]
    return lines


def pairs_section(
    models: list[ModelResults], board: Board, kernels: str | None, manifest: RunManifest | None
) -> list[str]:
    found = pairs(models)
    if not found:
        return []
    lead = (
        f"Time and firmware accuracy are those of the `{kernels}` kernels, the faster bit-exact set "
        "(both sets: section Kernel sets)."
        if kernels
        else "No emulation yet: no time or firmware accuracy."
    )
    parts = [
        "",
        "## Standard vs separable, pair by pair",
        "",
        "Each separable network next to its standard twin (same width α, input, blocks and classes). "
        "The seed's formula predicts the MAC and weight ratios of the separable blocks: "
        "Σ M·D_F²·(D_K²+N) / Σ D_K²·M·N·D_F², each block's 1/N + 1/D_K² weighted by its standard cost. " + lead,
    ]
    for standard, separable in found:
        parts += pair_table(standard, separable, board, kernels, manifest)
    return parts
