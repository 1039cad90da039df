"""State that every worker process and instance should share: throttle windows, refresh cooldowns
and news of committed changes.

``Fleet`` (``protocol``) is the small interface; ``MemoryFleet`` (``memory``) keeps everything in
the process (the default: one worker on its own) and doubles as the test twin; ``RedisFleet``
(``redis``, chosen when ``PASSWAY_REDIS_URL`` is set) shares it through Redis. Redis only speeds
things up: the database stays the source of truth, and when Redis is unreachable every process falls
back to what it knows itself (``outage``).
"""

from passway.fleet.memory import MemoryFleet, MemoryHub
from passway.fleet.protocol import ChangeListener, Fleet

__all__ = ["ChangeListener", "Fleet", "MemoryFleet", "MemoryHub"]
