from __future__ import annotations

import os
import time

from switchboard.retention import DAY_SECS, purge_recordings


def test_only_recordings_older_than_the_retention_are_deleted(tmp_path):
    now = time.time()
    old, new, other = tmp_path / "CAold.wav", tmp_path / "CAnew.wav", tmp_path / "notes.txt"
    for path in (old, new, other):
        path.write_bytes(b"x")
    os.utime(old, (now - 91 * DAY_SECS, now - 91 * DAY_SECS))
    os.utime(other, (now - 91 * DAY_SECS, now - 91 * DAY_SECS))
    assert purge_recordings(tmp_path, 90, now=now) == [old]
    assert not old.exists() and new.exists() and other.exists()


def test_zero_days_keeps_everything_and_a_missing_folder_is_fine(tmp_path):
    path = tmp_path / "CA.wav"
    path.write_bytes(b"x")
    os.utime(path, (0, 0))
    assert purge_recordings(tmp_path, 0) == []
    assert path.exists()
    assert purge_recordings(tmp_path / "none", 30) == []
