"""The task and source registry (see `spec` for what a task is, `registry` for lookup).

Importing this package registers molbridge's own tasks; sources register from
`molbridge.data.sources`. Add a task: write its builder, register a `Task`, add its phrasing file.
"""

from molbridge.tasks import molecules, proteins, reactions  # noqa: F401,I001  (registration, in this order)
from molbridge.tasks import biotext  # noqa: F401  (registration: text tasks after the molecule and protein ones)
from molbridge.tasks.registry import SOURCES, TASKS, UnknownNameError, fed_by, question_key, task_for
from molbridge.tasks.spec import Draft, Field, Scorer, Source, SourceOptions, Subject, Task, Template

__all__ = ["SOURCES", "TASKS", "Draft", "Field", "Scorer", "Source", "SourceOptions", "Subject", "Task", "Template",
           "UnknownNameError", "fed_by", "question_key", "task_for"]
