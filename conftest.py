"""Root conftest: deliberately thin. The suite is the ``calico_conformance`` pytest
plugin (registered through the ``pytest11`` entry point); ``suites/`` holds the tests."""
