"""Tested helpers for the course notebooks on pretrained models and transfer learning.

Import the modules you need, e.g. ``from helpers import data, models, training``.
Importing has no side effects (no seeding, no downloads, no plotting settings) but one:
helpers.models caps torch's threads at the CPUs this process may use (helpers.machine).
"""

__version__ = "0.1.0"
