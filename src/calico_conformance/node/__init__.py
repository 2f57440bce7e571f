"""The node tier: each variant inside a kind-style node (systemd as PID 1) built locally."""
