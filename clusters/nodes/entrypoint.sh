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
fi

# kind's fix_machine_id: a fresh machine-id per node.
rm -f /etc/machine-id
systemd-machine-id-setup >/dev/null 2>&1 || true

exec "$@"
