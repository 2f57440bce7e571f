#!/bin/bash
# The node's entrypoint, after kind's images/base/files/usr/local/bin/entrypoint (fix_cgroup):
# on cgroup v1, docker mounts each hierarchy at /sys/fs/cgroup/<ctrl> rooted at the
# container's own cgroup (/docker/<id>), while /proc/<pid>/cgroup shows full paths; kind
# bind-mounts each hierarchy onto <ctrl>/docker/<id> so both views resolve. One adaptation:
# without --privileged docker mounts them read-only, so they are first made writable for
# this mount only (remount,bind never touches the host's superblock).
set -o errexit -o nounset -o pipefail

if [[ ! -e /sys/fs/cgroup/cgroup.controllers ]]; then
  mount -o remount,rw /sys/fs/cgroup  # the container's own tmpfs
  while read -r _ _ _ root mnt _; do
    case "${mnt}" in /sys/fs/cgroup/*) ;; *) continue ;; esac
    mount -o remount,bind,rw "${mnt}"
    if [[ "${root}" == /docker/* ]]; then
      mkdir -p "${mnt}${root}"
      mount --bind "${mnt}" "${mnt}${root}"
    fi
  done < <(grep ' - cgroup ' /proc/self/mountinfo)
  # Hybrid hosts: docker mounts no cgroup2, and the node's systemd would mount the host's
  # whole cgroup2 tree at unified/; root it at this container's cgroup like the others.
  own=$(sed -n 's/^0:://p' /proc/self/cgroup)
  if [[ -n "${own}" ]] && ! mountpoint -q /sys/fs/cgroup/unified; then
    mkdir -p /sys/fs/cgroup/unified
    scratch=$(mktemp -d)
    mount -t cgroup2 cgroup2 "${scratch}"
    mount --bind "${scratch}${own}" /sys/fs/cgroup/unified
    umount "${scratch}" && rmdir "${scratch}"
    mkdir -p "/sys/fs/cgroup/unified${own}"
    mount --bind /sys/fs/cgroup/unified "/sys/fs/cgroup/unified${own}"
  fi
fi

# kind's fix_machine_id: a fresh machine-id per node.
rm -f /etc/machine-id
systemd-machine-id-setup >/dev/null 2>&1 || true

exec "$@"
