"""The seed's story per standard/separable pair: the counted network ratio (two .tflite files)
next to the formula 1/N + 1/D_K^2 over the separable blocks, and why they differ (the first conv
and the classifier are standard layers in both networks); per block, the separable block against
its standard twin's layer, counted and (when emulated) in instructions."""
from __future__ import annotations

import re

from pipeline.analysis import costs
from pipeline.report.tables import table

BLOCK = re.compile(r"^(block\d+)_")


def block_of(row: dict) -> str | None:
    match = BLOCK.match(row.get("name", ""))
    return match.group(1) if match else None


def non_separable_macs(model: dict) -> tuple[int, int]:
    """(first conv, classifier) MACs: the layers that are standard in both networks of a pair."""
    layers = model.get("layers", [])
    first = layers[0]["macs"] if layers and layers[0]["kind"] == "conv" else 0
    return first, sum(r["macs"] for r in layers if r["kind"] == "fully_connected")


def separable_blocks(model: dict) -> list[tuple[dict, dict]]:
    """(depthwise, pointwise) rows of each separable block."""
    rows = model.get("layers", [])
    return [(rows[i - 1], row) for i, row in enumerate(rows)
            if i and row["kind"] == "pointwise" and rows[i - 1]["kind"] == "depthwise"]


def blocks_formula_ratio(model: dict) -> float | None:
    """Sum of M*D_F^2*(D_K^2+N) over sum of D_K^2*M*N*D_F^2 over the separable blocks (the seed's
    formula at network level, from the layer shapes alone)."""
    blocks = separable_blocks(model)
    if not blocks:
        return None
    sep = sum(costs.separable_macs(dw["d_k"], dw["m"], pw["n"], pw["d_f"]) for dw, pw in blocks)
    std = sum(costs.standard_macs(dw["d_k"], dw["m"], pw["n"], pw["d_f"]) for dw, pw in blocks)
    return sep / std


def pair_story(standard: dict, separable: dict) -> dict:
    first_p, fc_p = non_separable_macs(separable)
    first_s, fc_s = non_separable_macs(standard)
    blocks_std = standard["macs"] - first_s - fc_s
    return {
        "standard": standard["name"], "separable": separable["name"],
        "counted_ratio": separable["macs"] / standard["macs"],
        "blocks_counted_ratio": (separable["macs"] - first_p - fc_p) / blocks_std if blocks_std else None,
        "blocks_formula_ratio": blocks_formula_ratio(separable),
        "first_conv_macs": first_p, "classifier_macs": fc_p,
        "non_separable_share": (first_p + fc_p) / separable["macs"] if separable["macs"] else None,
        "blocks": len(separable_blocks(separable)),
        "params_ratio": separable["params"] / standard["params"] if standard["params"] else None,
        "flash_ratio": separable["flash_bytes"] / standard["flash_bytes"],
    }


def story_sentence(story: dict) -> str:
    counted, formula, blocks = story["counted_ratio"], story["blocks_formula_ratio"], story["blocks_counted_ratio"]
    if formula is None:
        return f"`{story['separable']}` has no separable block: nothing for the formula to predict."
    side = "above" if counted > formula else "below" if counted < formula else "equal to"
    text = (f"`{story['separable']}`: the counted network ratio {counted:.3f} is {side} the formula's "
            f"{formula:.3f} for its {story['blocks']} separable blocks because the first 3×3 conv "
            f"({story['first_conv_macs']:,} MACs) and the classifier ({story['classifier_macs']:,} MACs) "
            f"are not separable: they are the same standard layers in both networks and "
            f"{story['non_separable_share']:.1%} of the separable network's MACs.")
    if blocks is not None and abs(blocks - formula) <= 1e-9 * formula:
        text += f" Over the blocks alone the two .tflite files give {blocks:.3f}, the formula exactly."
    elif blocks is not None:
        text += (f" Over the blocks alone the two .tflite files give {blocks:.3f}, not the formula's "
                 f"{formula:.3f}: the pair's blocks differ in shape (check the zoo).")
    return text


def pairs_section(pairs: list[tuple[dict, dict]]) -> list[str]:
    if not pairs:
        return []
    stories = [pair_story(s, p) for s, p in pairs]
    parts = ["", "## Standard vs separable (the seed's ratio 1/N + 1/D_K²)", "",
             "Counted: MACs of the separable .tflite over those of its standard twin. Formula: "
             "Σ M·D_F²·(D_K²+N) / Σ D_K²·M·N·D_F² over the separable blocks (each block's "
             "1/N + 1/D_K², weighted by its standard cost).", "",
             table(["pair", "MACs standard", "MACs separable", "counted network ratio",
                    "counted ratio, blocks only", "formula ratio, blocks", "not separable (share)",
                    "ratio params", "ratio flash"],
                   [[f"{s['name']} / {p['name']}", s["macs"], p["macs"], st["counted_ratio"],
                     st["blocks_counted_ratio"], st["blocks_formula_ratio"],
                     None if st["non_separable_share"] is None else f"{st['non_separable_share']:.1%}",
                     st["params_ratio"], st["flash_ratio"]] for (s, p), st in zip(pairs, stories)]), ""]
    parts += [f"- {story_sentence(st)}" for st in stories]
    return parts


def _ticks_by_block(timing_row: dict | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for layer in (timing_row or {}).get("layers", []):
        block = block_of(layer)
        if block:
            found[block] = found.get(block, 0) + layer["ticks"]
    return found


def layer_table(model: dict, twin: dict | None, timings: dict[str, dict]) -> str:
    """Per layer; for a separable model with a standard twin, each block next to the twin's layer."""
    headers = ["layer", "kind", "D_K", "M", "N", "D_F", "MACs", "params"]
    rows = [[r["name"], r["kind"], r["d_k"], r["m"], r["n"], r["d_f"], r["macs"], r["params"]]
            for r in model["layers"]]
    if twin is None or model["conv"] != "separable":
        return table(headers, rows)
    twin_macs = {block_of(r): r["macs"] for r in twin["layers"] if block_of(r)}
    mine, theirs = _ticks_by_block(timings.get(model["name"])), _ticks_by_block(timings.get(twin["name"]))
    timed = bool(mine and theirs)
    unit = timings[model["name"]]["unit"] if timed else None
    headers += [f"{twin['name']} MACs", "block / twin (counted)", "1/N + 1/D_K²"]
    if timed:
        headers += [f"block / twin ({unit})"]
    previous = None
    for row, r in zip(rows, model["layers"]):
        block = block_of(r)
        extra = [None, None, None] + ([None] if timed else [])
        if r["kind"] == "pointwise" and previous is not None and previous["kind"] == "depthwise" \
                and block in twin_macs and twin_macs[block]:
            extra = [twin_macs[block], (previous["macs"] + r["macs"]) / twin_macs[block],
                     costs.separable_ratio(previous["d_k"], r["n"])]
            if timed:
                extra.append(mine[block] / theirs[block] if theirs.get(block) and block in mine else None)
        row += extra
        previous = r
    return table(headers, rows)
