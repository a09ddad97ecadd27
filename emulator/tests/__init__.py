"""Self-checks for the local AWS emulator, run against a started emulator.

.venv/bin/python -m unittest discover -s emulator/tests
"""
