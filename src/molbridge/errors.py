"""Typed errors shared by every layer, so callers can catch one family and users read one reason."""

from __future__ import annotations


class MolbridgeError(Exception):
    """Base class of every error molbridge raises on purpose."""


class InvalidMolecule(MolbridgeError, ValueError):
    """A molecule string that cannot be parsed or sanitised; carries the input and RDKit's reason."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"invalid molecule {shown!r}: {reason}")


class FileFormatError(MolbridgeError, ValueError):
    """A malformed input file; names the file, the line (1-based, header = line 1) and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class MissingResourceError(MolbridgeError, RuntimeError):
    """A tokenizer, corpus or system package the job needs is absent; says how to get it."""


class ConventionError(MolbridgeError, ValueError):
    """An unknown or inconsistent scoring-convention setting."""


class ScoringInputError(MolbridgeError, ValueError):
    """References and predictions that cannot be scored together (unequal lengths, none at all)."""


class EncoderInputError(MolbridgeError, ValueError):
    """A record an encoder cannot read (a conformer, a protein); names the record and the reason, so a batch job
    can name it, count it and go on."""

    def __init__(self, record_id: str, reason: str) -> None:
        self.record_id, self.reason = record_id, reason
        super().__init__(f"record {record_id!r}: {reason}")
