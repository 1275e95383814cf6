"""Test fixture plugin (good); logs its import to $TUNE_FIXTURE_IMPORT_LOG."""

import os

if os.environ.get("TUNE_FIXTURE_IMPORT_LOG"):
    with open(os.environ["TUNE_FIXTURE_IMPORT_LOG"], "a", encoding="utf-8") as _log:
        _log.write("tune_fixture_good\n")
