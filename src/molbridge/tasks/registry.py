"""The registries of tasks and sources: one place that knows every name.

Tasks register in `molbridge.tasks` (molecules, proteins); sources register next to their
readers in `molbridge.data.sources`. A record whose task is not registered (imported from
another project's files) gets a generic instruction task whose answer kind is read off its
answers, so every record can be prompted, predicted and scored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from molbridge.errors import MolbridgeError
from molbridge.tasks.answers import TEXT, YES_NO
from molbridge.tasks.spec import Source, Task

T = TypeVar("T", Task, Source)


class UnknownNameError(MolbridgeError, KeyError):
    """A task or source name nobody registered; lists the registered ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Specs by name, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T, *, replace: bool = False) -> T:
        """Add `item`; a second registration of a name is an error unless `replace`."""
        if item.name in self._items and not replace:
            raise ValueError(f"{self.kind} {item.name!r} is already registered")
        self._items[item.name] = item
        return item

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; registered: {', '.join(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))


TASKS: Registry[Task] = Registry("task")
SOURCES: Registry[Source] = Registry("source")


def fed_by(source: Source) -> list[Task]:
    """The registered tasks a source molbridge builds from can feed: those whose needs its subjects cover."""
    return [] if source.imported else [t for t in TASKS if t.build is not None and t.needs <= source.provides]


def task_for(name: str, outputs: Sequence[str] = ()) -> Task:
    """The registered task `name`, or a generic instruction task for an imported one: yes/no answers when
    every given output is yes or no, free text otherwise, copy baseline by BM25 over the input."""
    if name in TASKS:
        return TASKS.get(name)
    yes_no = bool(outputs) and all(o.strip().lower().rstrip(".") in ("yes", "no") for o in outputs)
    return Task(name, "an imported instruction task", YES_NO if yes_no else TEXT, copy="bm25")


def question_key(task: Task, instruction: str, extra: dict, *, imported: bool) -> tuple[str, ...]:
    """What makes two records about the same subject the same question, for deduplication.

    A record molbridge built asks one question per subject, variant (e.g. the property) and question key
    (e.g. the GO term asked about): its phrasing is cosmetic. An imported record's question is its property
    (when it names one) and its instruction: one molecule may be asked for HOMO, LUMO and gap under one task
    name.
    """
    variant = str(extra.get(task.variant or "property", ""))
    if not imported:
        return task.name, variant, str(extra.get(task.question, "")) if task.question else ""
    return task.name, variant, " ".join(instruction.lower().split())
