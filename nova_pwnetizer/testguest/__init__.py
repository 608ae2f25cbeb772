"""The test guest: a Debian kernel and a busybox initramfs with a workload.

Built from Debian packages by ``files/build-guest.sh`` and cached outside
the repository.  Used by ``pwnetizer demo``, the integration tests and the
benchmarks.
"""
