"""The Java scorers of the COCO caption evaluation: METEOR 1.5 and SPICE 1.0.

Both jars ship inside pycocoevalcap. They are driven here directly (same command lines and the
same METEOR stdio protocol as pycocoevalcap) so that a failure becomes a reason string instead of
a hang: pycocoevalcap's METEOR wrapper keeps a lock held when scoring raises, and its SPICE
wrapper downloads Stanford CoreNLP on construction.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from savbench.metrics._ptb import java_executable

METEOR_TIMEOUT_S = 600.0
SPICE_TIMEOUT_S = 1800.0
SPICE_CORENLP = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")


class ScorerUnavailable(RuntimeError):
    """The scorer cannot run here; the message says why."""


def _package_dir(sub: str) -> Path | None:
    try:
        from pycocoevalcap.bleu import bleu
    except ImportError:
        return None
    return Path(bleu.__file__).parent.parent / sub


def meteor_jar() -> Path:
    """The METEOR 1.5 jar inside pycocoevalcap.

    Raises:
        ScorerUnavailable: When Java, the jar or its paraphrase table is missing.
    """
    if java_executable() is None:
        raise ScorerUnavailable("no 'java' executable on PATH (install a JRE, e.g. apt default-jre-headless)")
    folder = _package_dir("meteor")
    if folder is None or not (folder / "meteor-1.5.jar").is_file():
        raise ScorerUnavailable("pycocoevalcap's meteor/meteor-1.5.jar was not found")
    if not (folder / "data" / "paraphrase-en.gz").is_file():
        raise ScorerUnavailable(
            f"METEOR's paraphrase table {folder / 'data' / 'paraphrase-en.gz'} is missing"
        )
    return folder / "meteor-1.5.jar"


def meteor_scores(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[float, list[float]]:
    """METEOR 1.5 (``-l en -norm``) of tokenised captions: the jar's corpus score and per-sample scores.

    Args:
        hypotheses: One tokenised hypothesis per sample.
        references: Tokenised references per sample.

    Raises:
        ScorerUnavailable: When the jar cannot run or its output cannot be read.
    """
    jar = meteor_jar()
    cmd = [java_executable() or "java", "-jar", "-Xmx2G", jar.name, "-", "-", "-stdio", "-l", "en", "-norm"]
    proc = subprocess.Popen(
        cmd, cwd=jar.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    watchdog = threading.Timer(METEOR_TIMEOUT_S, proc.kill)
    watchdog.start()
    assert proc.stdin is not None and proc.stdout is not None
    lines = [
        " ||| ".join(
            ["SCORE", *(r.replace("|||", "") for r in refs), hyp.replace("|||", "").replace("  ", " ")]
        )
        for hyp, refs in zip(hypotheses, references, strict=True)
    ]

    def feed() -> None:
        try:
            for line in lines:
                proc.stdin.write((line + "\n").encode("utf-8"))
            proc.stdin.flush()
        except OSError:
            pass  # the reader reports the failure

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        stats = [proc.stdout.readline().decode("utf-8").strip() for _ in lines]
        writer.join()
        proc.stdin.write(("EVAL ||| " + " ||| ".join(stats) + "\n").encode("utf-8"))
        proc.stdin.flush()
        per_sample = [float(proc.stdout.readline()) for _ in lines]
        corpus = float(proc.stdout.readline())
    except (ValueError, OSError) as exc:
        raise ScorerUnavailable(
            f"METEOR jar gave no readable score (exit code {proc.poll()}): {exc}"
        ) from None
    finally:
        watchdog.cancel()
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.kill()
        proc.wait()
    return corpus, per_sample


def spice_jar() -> Path:
    """The SPICE 1.0 jar inside pycocoevalcap, when it can run offline.

    Raises:
        ScorerUnavailable: When Java, the jar or the Stanford CoreNLP 3.6.0 jars it needs are missing.
    """
    if java_executable() is None:
        raise ScorerUnavailable("no 'java' executable on PATH (install a JRE, e.g. apt default-jre-headless)")
    folder = _package_dir("spice")
    if folder is None or not (folder / "spice-1.0.jar").is_file():
        raise ScorerUnavailable("pycocoevalcap's spice/spice-1.0.jar was not found")
    missing = [name for name in SPICE_CORENLP if not (folder / "lib" / name).is_file()]
    if missing:
        raise ScorerUnavailable(
            f"SPICE needs {' and '.join(missing)} in {folder / 'lib'}; pycocoevalcap downloads them from "
            "the Stanford NLP site on first use (stanford-corenlp-full-2015-12-09.zip) and savbench does "
            "not download at run time; place the two jars there to enable SPICE"
        )
    return folder / "spice-1.0.jar"


def spice_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, list[float]]:
    """SPICE F-scores of tokenised captions: mean over samples and per-sample values.

    Raises:
        ScorerUnavailable: When SPICE cannot run here or fails.
    """
    jar = spice_jar()
    data = [
        {"image_id": i, "test": hyp, "refs": list(refs)}
        for i, (hyp, refs) in enumerate(zip(hypotheses, references, strict=True))
    ]
    with tempfile.TemporaryDirectory(prefix="savbench-spice-") as tmp:
        in_path, out_path = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(in_path, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        cmd = [
            java_executable() or "java",
            "-jar",
            "-Xmx8G",
            jar.name,
            in_path,
            "-out",
            out_path,
            "-subset",
            "-silent",
        ]
        try:
            proc = subprocess.run(
                cmd, cwd=jar.parent, capture_output=True, timeout=SPICE_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise ScorerUnavailable(f"SPICE did not finish within {SPICE_TIMEOUT_S:.0f} s") from None
        if proc.returncode != 0 or not os.path.exists(out_path):
            tail = proc.stderr.decode(errors="replace")[-400:]
            raise ScorerUnavailable(f"SPICE jar failed (exit code {proc.returncode}): {tail}")
        with open(out_path, encoding="utf-8") as fh:
            results = {row["image_id"]: row["scores"]["All"]["f"] for row in json.load(fh)}
    per_sample = [float(results[i]) if results.get(i) is not None else float("nan") for i in range(len(data))]
    finite = [v for v in per_sample if v == v]
    return (sum(finite) / len(finite) if finite else float("nan")), per_sample
