-- The host-resource read model (service/compute/hosts.py): what each compute host
-- offers and what its servers hold of it, kept inline so that a placement claims its
-- share in the append that records it, and the scheduler reads it.

CREATE TABLE rm_host_resources (
    host                   text PRIMARY KEY,
    availability_zone      text NOT NULL,
    enabled                boolean NOT NULL DEFAULT true,
    vcpus                  integer NOT NULL,
    memory_mb              integer NOT NULL,
    disk_gb                integer NOT NULL,
    cpu_allocation_ratio   double precision NOT NULL,
    ram_allocation_ratio   double precision NOT NULL,
    disk_allocation_ratio  double precision NOT NULL,
    vcpus_used             integer NOT NULL DEFAULT 0,
    memory_mb_used         integer NOT NULL DEFAULT 0,
    local_gb_used          integer NOT NULL DEFAULT 0,
    running_vms            integer NOT NULL DEFAULT 0
);

-- What each server holds (or will hold once placed): its flavor's share, and while a
-- resize waits for confirmation, its previous flavor's too.
CREATE TABLE rm_host_claims (
    server_id       text PRIMARY KEY,
    host            text,
    vcpus           integer NOT NULL,
    memory_mb       integer NOT NULL,
    disk_gb         integer NOT NULL,
    old_vcpus       integer NOT NULL DEFAULT 0,
    old_memory_mb   integer NOT NULL DEFAULT 0,
    old_disk_gb     integer NOT NULL DEFAULT 0
);
CREATE INDEX rm_host_claims_host ON rm_host_claims (host);

-- Databases that already hold hosts and servers start from what the compute read
-- models show (Nova's initial allocation ratios until a host registers again).
INSERT INTO rm_host_claims (server_id, host, vcpus, memory_mb, disk_gb, old_vcpus,
                            old_memory_mb, old_disk_gb)
SELECT id, host, (flavor->>'vcpus')::int, (flavor->>'ram')::int,
       (flavor->>'disk')::int + coalesce((flavor->>'ephemeral')::int, 0),
       coalesce((previous_flavor->>'vcpus')::int, 0),
       coalesce((previous_flavor->>'ram')::int, 0),
       coalesce((previous_flavor->>'disk')::int + coalesce((previous_flavor->>'ephemeral')::int, 0), 0)
FROM rm_servers WHERE NOT deleted;

INSERT INTO rm_host_resources (host, availability_zone, enabled, vcpus, memory_mb, disk_gb,
                               cpu_allocation_ratio, ram_allocation_ratio,
                               disk_allocation_ratio, vcpus_used, memory_mb_used,
                               local_gb_used, running_vms)
SELECT h.name, h.availability_zone, h.enabled, h.vcpus, h.memory_mb, h.disk_gb, 16.0, 1.5, 1.0,
       coalesce(sum(c.vcpus + c.old_vcpus), 0), coalesce(sum(c.memory_mb + c.old_memory_mb), 0),
       coalesce(sum(c.disk_gb + c.old_disk_gb), 0), count(c.server_id)
FROM rm_hosts h LEFT JOIN rm_host_claims c ON c.host = h.name
GROUP BY h.name;
