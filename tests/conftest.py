"""Suite-wide settings.

Under CI (CI=true) Hypothesis runs derandomized, so a submission's result
does not depend on the luck of the draw; developer runs keep exploring new
random examples (and its example database replays any failure they find).
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
