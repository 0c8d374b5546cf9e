/*
 * file_confinement.h — the host's Landlock ruleset: which files a
 * process-mode plugin may open.
 *
 * Read only: the system's libraries, programs and data (/usr, /lib*, /bin,
 * /sbin, /opt), a short list of /etc files the C library and TLS read
 * (ld.so.cache, passwd, group, hosts, resolv.conf, localtime, certificates),
 * /sys, the host's own /proc entries and the machine-wide ones (cpuinfo,
 * meminfo, stat, sys), the plugin's own file, and the directories its RUNPATH and
 * LD_LIBRARY_PATH name (where a Swift plugin finds its runtime). Read and
 * write: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom.
 * Nothing else: not $AGENTOS_HOME (the kernel's databases, keys, audit,
 * other plugins), not the user's files, not /tmp. With `spawn`
 * (AOS_HOST_ALLOW_SPAWN) the read-only directories may also be executed
 * from. Descriptors open before (the channel, stdout, stderr) are unaffected.
 */
#ifndef AGENTOS_HOST_FILE_CONFINEMENT_H
#define AGENTOS_HOST_FILE_CONFINEMENT_H

#include <stddef.h>
#include <stdint.h>

/** Confines the calling process (and every thread it starts later) to the
 * files above, `plugin` being the library it is about to open and `allow`
 * its AOS_HOST_ALLOW_* bits. Needs no_new_privs. Returns 0 when confined;
 * 1 when this Linux has no Landlock (before 5.13, or disabled, or refused by
 * a container's seccomp profile), with the reason in `why`; -1 when the
 * ruleset could not be built or applied, with the reason in `why`. */
int aos_host_confine_files(const char *plugin, uint32_t allow, char *why, size_t why_cap);

#endif
