"""Record sources: readers of real data files, and their registrations (importing this package registers them)."""

from molbridge.data.sources import catalog, imports  # noqa: F401  (registration)
