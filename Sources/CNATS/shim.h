/* The NATS C client (Debian: libnats-dev) for the cluster link (ClusterNATS). */
#ifndef AGENTOS_CNATS_SHIM_H
#define AGENTOS_CNATS_SHIM_H

#include <nats/nats.h>

#endif
