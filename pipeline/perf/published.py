"""Published inference times of models anyone can fetch, on boards this project has a file for:
what the cycle estimate is checked against (benchmarks/published_latency.py, the report's
"Published measurements" section). Each figure keeps its value, board, clock, software, what the
timing covers and where it was read; `build` is the optimisation the estimate reproduces (the
published build's flags), `comparable` says whether the software is the one the project estimates
(TFLM with CMSIS-NN kernels) or another engine shown for scale.

No figure here tunes the model: docs/cycle_model.md ("Checked against published figures") says
which terms were kept and which were refused because they did not predict a second figure."""

from __future__ import annotations

from dataclasses import dataclass

MICROFLOW = "matteocarnelos/microflow-rs (GitHub) @6703135, analysis/performance/data/{}: median of 100 runs (µs)"
MLPERF_V05 = (
    "mlcommons/tiny_results_v0.5 (GitHub) @d75aef6, closed/reference/results/Nucleo-L4R5ZI/{}/performance/"
    "results.txt: 1 / median throughput ({} inf./s)"
)
MLPERF_LATER = "MLPerf Tiny closed division, visual wake words, {} (as collected in the project's design notes)"
ARDUINO_TFLM = (
    "TFLM + CMSIS-NN through the Arduino library (version not recorded), ArduinoCore-mbed (-Os, the core's "
    "GCC 7), cache on through the bootloader"
)
MLPERF_TFLM = "TFLM 2.3.1 + CMSIS-NN, mbed OS bare-metal, GCC-ARM 6-2017-q2 -Os (mbed-cli develop profile)"
NOT_OURS = "another engine, shown for scale: the estimate is TFLM + CMSIS-NN's"


@dataclass(frozen=True)
class PublishedFigure:
    model: str  # what the source calls it
    model_file: str  # the file the figure was measured with (its name where it is published)
    model_sha256: str  # the bytes the estimate must run: a file with another digest is another model
    macs: int
    board: str  # the board file's key (pipeline/boards)
    clock_hz: int
    published_ms: float
    software: str
    covers: str  # what the timing brackets
    source: str
    build: str = "-Os"  # optimisation of TFLM and CMSIS-NN in the published build (what is emulated)
    comparable: bool = True  # the software is TFLM + CMSIS-NN, what the project estimates

    @property
    def macs_per_cycle(self) -> float:
        return self.macs / (self.published_ms * 1e-3 * self.clock_hz)


PERSON = "808cfdfc0cf3a6fa6f6fa26bfa379ea97c16d5db7334637766e39c3408502e9d"
SPEECH = "09e5e2a9dfb2d8ed78802bf18ce297bff54281a66ca18e0c23d69ca14f822a83"
SINE = "780cc6ff8ecec39193e3f32a877af73385c9d6abc39f47d0e846a22d808f65df"
VWW = "597a384c8c2c8a1276f04702f25013b7838f2f814f1ca7c174d295b73e3d6b7b"
KWS = "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae"
IC = "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415"
AD = "87cf24194ef93d1d9b11a591d805526b98008e351655d29883c825c9c106ba24"
NRF = ("nano33ble", 64_000_000)
L4R5 = ("nucleo_l4r5zi", 120_000_000)


def _vww_other(engine: str, ms: float, round_: str) -> PublishedFigure:
    return PublishedFigure(
        "vww_96_int8",
        "vww_96_int8.tflite",
        VWW,
        7_489_664,
        *L4R5,
        published_ms=ms,
        software=f"{engine} ({NOT_OURS})",
        covers="one inference (EEMBC runner)",
        source=MLPERF_LATER.format(round_),
        comparable=False,
    )


FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure(
        "person_detect",
        "person_detect.tflite",
        PERSON,
        7_157_888,
        *NRF,
        published_ms=839.383,
        software=ARDUINO_TFLM,
        covers="not published (the timing sketch is not in the repository); one Invoke as far as the "
        "sine figure shows, plus a fixed part of the bracket",
        source=MICROFLOW.format("person-detect-nrf52840-tflm.csv"),
    ),
    PublishedFigure(
        "micro_speech",
        "speech.tflite",
        SPEECH,
        336_000,
        *NRF,
        published_ms=59.2515,
        software=ARDUINO_TFLM,
        covers="as person_detect: one Invoke on precomputed features (no feature extraction: ±0.13 % "
        "spread, and the MicroFlow counterpart times one inference)",
        source=MICROFLOW.format("speech-nrf52840-tflm.csv"),
    ),
    PublishedFigure(
        "sine",
        "sine.tflite",
        SINE,
        288,
        *NRF,
        published_ms=2.596,
        software=ARDUINO_TFLM,
        covers="as person_detect; 288 MACs, so nearly all of it is the bracket's fixed part",
        source=MICROFLOW.format("sine-nrf52840-tflm.csv"),
    ),
    PublishedFigure(
        "vww_96_int8",
        "vww_96_int8.tflite",
        VWW,
        7_489_664,
        *L4R5,
        published_ms=600.6,
        software=MLPERF_TFLM,
        covers="one inference (th_infer: runner->Invoke())",
        source=MLPERF_V05.format("vww", "1.665"),
    ),
    PublishedFigure(
        "kws_ref_model",
        "kws_ref_model.tflite",
        KWS,
        2_656_768,
        *L4R5,
        published_ms=181.9,
        software=MLPERF_TFLM,
        covers="one inference (th_infer: runner->Invoke())",
        source=MLPERF_V05.format("kws", "5.497"),
    ),
    PublishedFigure(
        "pretrainedResnet_quant",
        "pretrainedResnet_quant.tflite",
        IC,
        12_501_632,
        *L4R5,
        published_ms=704.2,
        software=MLPERF_TFLM,
        covers="one inference (th_infer: runner->Invoke())",
        source=MLPERF_V05.format("ic", "1.420"),
    ),
    PublishedFigure(
        "ad01_int8",
        "ad01_int8.tflite",
        AD,
        264_192,
        *L4R5,
        published_ms=10.05,
        software=MLPERF_TFLM,
        covers="one inference (th_infer: runner->Invoke())",
        source=MLPERF_V05.format("ad", "99.487"),
    ),
    _vww_other("microTVM + CMSIS-NN", 301.2, "round not re-read"),
    _vww_other("Bosch HALE", 180.5, "round not re-read"),
    _vww_other("ONNC", 172.2, "round not re-read"),
    _vww_other("X-CUBE-AI 7.3", 230.5, "round not re-read (224.9 ms in another round)"),
    _vww_other("X-CUBE-AI 8.1", 118.7, "round not re-read"),
    _vww_other("X-CUBE-AI 9.0", 88.9, "v1.2"),
    _vww_other("X-CUBE-AI 10.2", 89.4, "round not re-read"),
    _vww_other("Plumerai v1.0", 208.6, "round not re-read"),
    _vww_other("Plumerai v1.1", 98.8, "round not re-read"),
    PublishedFigure(
        "kws_ref_model",
        "kws_ref_model.tflite",
        KWS,
        2_656_768,
        *L4R5,
        published_ms=75.1,
        software=f"X-CUBE-AI 7.3 ({NOT_OURS})",
        covers="one inference (EEMBC runner)",
        source="MLPerf Tiny closed division, keyword spotting (as collected in the project's design notes)",
        comparable=False,
    ),
    PublishedFigure(
        "pretrainedResnet_quant",
        "pretrainedResnet_quant.tflite",
        IC,
        12_501_632,
        *L4R5,
        published_ms=226.9,
        software=f"X-CUBE-AI 7.3 ({NOT_OURS})",
        covers="one inference (EEMBC runner)",
        source="MLPerf Tiny closed division, image classification (as collected in the project's design notes)",
        comparable=False,
    ),
    PublishedFigure(
        "ad01_int8",
        "ad01_int8.tflite",
        AD,
        264_192,
        *L4R5,
        published_ms=7.6,
        software=f"X-CUBE-AI 7.3 ({NOT_OURS})",
        covers="one inference (EEMBC runner)",
        source="MLPerf Tiny closed division, anomaly detection (as collected in the project's design notes)",
        comparable=False,
    ),
)


def figures_for_board(board: str) -> tuple[PublishedFigure, ...]:
    return tuple(f for f in FIGURES if f.board == board)


def figures_for_model(sha256: str) -> tuple[PublishedFigure, ...]:
    return tuple(f for f in FIGURES if f.model_sha256 == sha256)
