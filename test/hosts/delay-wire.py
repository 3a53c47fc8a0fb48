"""A wire with a delay, for the multi-host harness (site.ts): the kernel of these machines has no
sch_netem, so `tc netem delay` cannot run; this does what it would on a host's eth0.

    python3 delay-wire.py HOST_SIDE LAN_SIDE LAN_PEER BRIDGE DELAY_MS OWNER_PID [JITTER_MS]

Run in the switch namespace. Copies every Ethernet frame between two of its interfaces: the frames
the host sends (received on HOST_SIDE, the far end of its eth0) go out on LAN_SIDE DELAY_MS later,
in the order they came; frames for the host pass at once. With JITTER_MS, each frame's delay is
DELAY_MS plus one drawn uniformly from [-JITTER_MS, +JITTER_MS] (never below 0), order still kept:
a frame never leaves before the one sent ahead of it (netem's `delay D J` with its queue in order).

Started synchronously: it opens both sockets, moves the host off the bridge (HOST_SIDE leaves
BRIDGE, LAN_PEER — LAN_SIDE's veth peer — joins it), then forks; the parent prints the wire's pid
and exits, so when the command returns the delay holds for every frame. The harness moves the
port back and ends the wire by that pid. The wire also ends when OWNER_PID (the harness) is gone
or an interface is removed (the site torn down). Standard library only (python3 is on every machine
of this kind).

Sockets are AF_PACKET with PACKET_VNET_HDR: a veth hands over TCP segments unsegmented (GSO) and
without their checksum (offloaded); the virtio-net header that comes with each frame carries that
state, and sending the frame with its header back lets the kernel finish it on the other side.
"""
import errno
import heapq
import os
import random
import select
import socket
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
MAX_FRAME = 65_536 + 64
OWNER_CHECK_S = 1.0


def open_side(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def send(s, frame):
    try:
        s.send(frame)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.ENOBUFS):
            raise
        # a full queue drops the frame, as a congested link would


def run(host, lan, delay_s, jitter_s, owner):
    waiting = []  # (due, n, frame): from the host, to the LAN
    n = 0
    last_due = 0.0
    checked = time.monotonic()
    while True:
        now = time.monotonic()
        if now - checked >= OWNER_CHECK_S:
            if not alive(owner):
                return
            checked = now
        timeout = OWNER_CHECK_S
        if waiting:
            timeout = min(timeout, max(0.0, waiting[0][0] - now))
        readable, _, _ = select.select([host, lan], [], [], timeout)
        for s in readable:
            while True:
                try:
                    frame, addr = s.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own copy, seen leaving
                if s is host:
                    n += 1
                    held = delay_s + random.uniform(-jitter_s, jitter_s) if jitter_s > 0 else delay_s
                    last_due = max(last_due, time.monotonic() + max(0.0, held))
                    heapq.heappush(waiting, (last_due, n, frame))
                else:
                    send(host, frame)
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            send(lan, heapq.heappop(waiting)[2])


def main():
    host_if, lan_if, lan_peer, bridge = sys.argv[1:5]
    delay_s = max(0.0, float(sys.argv[5])) / 1000
    owner = int(sys.argv[6])
    jitter_s = max(0.0, float(sys.argv[7])) / 1000 if len(sys.argv) > 7 else 0.0
    host, lan = open_side(host_if), open_side(lan_if)
    subprocess.run(['ip', 'link', 'set', host_if, 'nomaster'], check=True)
    subprocess.run(['ip', 'link', 'set', lan_peer, 'master', bridge], check=True)
    pid = os.fork()
    if pid > 0:
        sys.stdout.write(f'{pid}\n')
        sys.stdout.flush()
        os._exit(0)
    # The wire: detached from the command that started it (whose pipes its caller waits on).
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        run(host, lan, delay_s, jitter_s, owner)
    except OSError:
        pass  # an interface gone with the site
    os._exit(0)


if __name__ == '__main__':
    main()
