"""Kubernetes Pod Security Standards, "restricted" profile (which includes "baseline"), as a checker for
rendered pod specs. Written from https://kubernetes.io/docs/concepts/security/pod-security-standards/
(policy version v1.27+). ``violations(pod_spec)`` returns human-readable findings, empty when compliant.
"""

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                   "secret"}
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}


def containers(spec):
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(kind) or []:
            yield "%s %s" % (kind[:-1], container.get("name")), container


def violations(spec):
    found = []
    pod_sc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            found.append("pod: %s must not be true" % key)
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append("pod: sysctl %s is not allowed" % sysctl.get("name"))
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append("volume %s: type %s is not allowed" % (volume.get("name"), sorted(kinds - ALLOWED_VOLUMES)))
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_sc.get("runAsUser") == 0:
        found.append("pod: runAsUser must not be 0")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        found.append("pod: seccompProfile must be RuntimeDefault or Localhost")
    for where, container in containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            found.append("%s: privileged" % where)
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append("%s: allowPrivilegeEscalation must be false" % where)
        if not (sc.get("runAsNonRoot") is True or (pod_non_root and sc.get("runAsNonRoot") is not False)):
            found.append("%s: runAsNonRoot must be true (pod or container)" % where)
        if sc.get("runAsUser") == 0:
            found.append("%s: runAsUser must not be 0" % where)
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append("%s: seccompProfile must be RuntimeDefault or Localhost (pod or container)" % where)
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append("%s: capabilities must drop ALL" % where)
        added = set(capabilities.get("add") or [])
        if added - {"NET_BIND_SERVICE"}:
            found.append("%s: may only add NET_BIND_SERVICE, adds %s" % (where, sorted(added)))
        if added - BASELINE_CAPABILITIES:
            found.append("%s: baseline forbids adding %s" % (where, sorted(added - BASELINE_CAPABILITIES)))
        if sc.get("procMount") not in (None, "Default"):
            found.append("%s: procMount must be Default" % where)
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append("%s: hostPort %s" % (where, port["hostPort"]))
        if ((sc.get("appArmorProfile") or {}).get("type") or "RuntimeDefault") not in ("RuntimeDefault", "Localhost"):
            found.append("%s: appArmorProfile must be RuntimeDefault or Localhost" % where)
    return found
