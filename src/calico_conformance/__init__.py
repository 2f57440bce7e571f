"""calico-conformance: which containerd configurations make calico-node unstable."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("calico-conformance")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"
