# tests/cluster/netns_lib.sh — three "hosts" as network namespaces on one
# shellcheck shell=bash
# machine (sourced after lib.sh; needs $ROOT). See
# ../shared/reference/cluster-recipes.md §3.
#
# Topology: namespaces <P>h1 <P>h2 <P>h3 (the hosts; each also gets its own
# hostname through the rsh agent) and <P>sw holding bridge br0. Host i has
# eth0 = 10.77.0.i/24, a veth whose peer port<i> is a port of br0 in <P>sw.
# The veths are created inside the namespaces: the root namespace gets no
# interface, address or route, so only traffic between those addresses
# exists. <P> is unique per run, so runs never share a namespace.

NS_PREFIX=
NS_HOSTS=()
NS_SUBNET=10.77.0.0/24

netns_up() {  # netns_up: make the hosts; skip if the kernel cannot
    local i h sw
    command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
    command -v unshare >/dev/null || skip "no 'unshare' (util-linux)"
    NS_PREFIX="mf$$x"
    sw="${NS_PREFIX}sw"
    if ! ip netns add "$sw" 2>/dev/null; then
        skip "cannot create network namespaces here (ip netns add failed)"
    fi
    if ! ip -n "$sw" link add br0 type bridge 2>/dev/null; then
        ip netns del "$sw"
        skip "no bridge support in this kernel"
    fi
    ip -n "$sw" link set br0 up
    ip -n "$sw" link set lo up
    for i in 1 2 3; do
        h="${NS_PREFIX}h$i"
        ip netns add "$h" || { bad "ip netns add $h"; return 1; }
        NS_HOSTS+=("$h")
        ip -n "$h" link add eth0 type veth peer name "port$i" netns "$sw" \
            || { bad "veth for $h (no veth support?)"; return 1; }
        ip -n "$sw" link set "port$i" master br0
        ip -n "$sw" link set "port$i" up
        ip -n "$h" addr add "10.77.0.$i/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" link set lo up
    done
    # Bounded wait for the links to carry traffic (bridge ports start in
    # "learning"/"forwarding" quickly, but not instantly).
    # A TCP connect to a closed port is refused only if the packets get
    # there (no ping needed).
    netns_reach() { ip netns exec "${NS_HOSTS[0]}" timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.0.3/9' 2>&1 | grep -q refused; }
    if poll_until 10 0.1 netns_reach; then
        ok "3 namespace hosts up (${NS_HOSTS[*]}), 10.77.0.1-3 reachable"
    else
        bad "10.77.0.3 not reachable from ${NS_HOSTS[0]}"
        return 1
    fi
}

# Kill whatever runs in our namespaces and delete them (veths and bridge go
# with them). Idempotent; checks that nothing is left.
netns_down() {
    [ -n "$NS_PREFIX" ] || return 0
    local ns pids left=0
    for ns in "${NS_HOSTS[@]}" "${NS_PREFIX}sw"; do
        ip netns list 2>/dev/null | grep -q "^$ns\\b" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        if [ -n "${pids// /}" ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
    done
    ns_empty() {
        local n p
        for n in "${NS_HOSTS[@]}"; do
            for p in $(ip netns pids "$n" 2>/dev/null); do
                proc_alive "$p" && return 1
            done
        done
        return 0
    }
    poll_until 10 0.1 ns_empty || left=1
    for ns in "${NS_HOSTS[@]}" "${NS_PREFIX}sw"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    if ip netns list 2>/dev/null | grep -q "^$NS_PREFIX"; then
        bad "namespaces left: $(ip netns list | grep "^$NS_PREFIX" | tr '\n' ' ')"
    elif [ "$left" = 1 ]; then
        bad "processes survived in the namespaces"
    else
        ok "namespaces deleted, no process left in them"
    fi
    NS_PREFIX=
    NS_HOSTS=()
}

# ns_flavour: openmpi or mpich, from $MPIRUN --version.
ns_flavour() {
    if "$MPIRUN" --version 2>&1 | grep -qE 'Open MPI|OpenRTE'; then echo openmpi; else echo mpich; fi
}

# ns_mpirun HOSTFILE NP PROGRAM ARGS...: $MPIRUN started inside host 1
# (with its hostname), starting its daemons on the other hosts through the
# rsh agent that enters their namespaces. Killed after $NS_TIMEOUT s (120).
# Open MPI settings (recipes §3): TCP only between hosts, binding off (else
# every host's first rank is bound to core 0 and round trips take
# milliseconds), yield when idle, OOB keepalive so a lost host is noticed
# in seconds, no tree spawn. MPICH (hydra): rsh launcher = the agent,
# interface eth0, and UCX limited to TCP (else UCX sees one machine --
# same boot id -- and moves the data through shared memory).
ns_mpirun() {
    local hf="$1" np="$2"
    shift 2
    if [ "$(ns_flavour)" = openmpi ]; then
        env OMPI_MCA_plm=rsh OMPI_MCA_plm_rsh_agent="$ROOT/tests/cluster/netns-rsh" \
            OMPI_MCA_plm_rsh_no_tree_spawn=1 \
            OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self,vader \
            OMPI_MCA_btl_tcp_if_include="$NS_SUBNET" OMPI_MCA_oob_tcp_if_include="$NS_SUBNET" \
            OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1 \
            OMPI_MCA_oob_tcp_keepalive_time=2 OMPI_MCA_oob_tcp_keepalive_intvl=1 \
            OMPI_MCA_oob_tcp_keepalive_probes=3 \
            OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            timeout -k 5 "${NS_TIMEOUT:-120}" \
            "$ROOT/tests/cluster/netns-rsh" --exec "${NS_HOSTS[0]}" \
            "$MPIRUN" --hostfile "$hf" -np "$np" "$@"
    else
        timeout -k 5 "${NS_TIMEOUT:-120}" \
            "$ROOT/tests/cluster/netns-rsh" --exec "${NS_HOSTS[0]}" \
            "$MPIRUN" -launcher rsh -launcher-exec "$ROOT/tests/cluster/netns-rsh" \
            -iface eth0 -genv UCX_TLS tcp,self -genv UCX_NET_DEVICES eth0 \
            -f "$hf" -n "$np" "$@"
    fi
}

# ns_hostfile FILE SLOTS [HOSTS...]: one line per host (all hosts by
# default), in the launcher's format.
ns_hostfile() {
    local f="$1" slots="$2" h
    shift 2
    [ $# -gt 0 ] || set -- "${NS_HOSTS[@]}"
    : >"$f"
    for h in "$@"; do
        if [ "$(ns_flavour)" = openmpi ]; then echo "$h slots=$slots"; else echo "$h:$slots"; fi >>"$f"
    done
}

# ns_rank_of PID: the MPI rank of a process started by the launcher.
ns_rank_of() {
    tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p; s/^PMI_RANK=//p' | head -n 1
}
