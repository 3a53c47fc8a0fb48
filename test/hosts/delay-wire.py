"""A wire with a delay, for the multi-host harness (site.ts): the kernel of these machines has no
sch_netem, so `tc netem delay` cannot run; this does what it would on a host's eth0.

    python3 delay-wire.py HOST_SIDE LAN_SIDE LAN_PEER BRIDGE DELAY_MS

Run in the switch namespace. Copies every Ethernet frame between two of its interfaces: the frames
the host sends (received on HOST_SIDE, the far end of its eth0) go out on LAN_SIDE DELAY_MS later,
in the order they came; frames for the host pass at once. Once both sockets are open it moves the
host off the bridge (HOST_SIDE leaves BRIDGE, LAN_PEER — LAN_SIDE's veth peer — joins it) and
prints "ready"; the harness moves it back before it ends this. Each line on stdin sets a new delay
in ms (frames already waiting keep theirs); stdin closed (the harness gone) or an interface removed
ends it. Standard library only (python3 is on every machine of this kind).

Sockets are AF_PACKET with PACKET_VNET_HDR: a veth hands over TCP segments unsegmented (GSO) and
without their checksum (offloaded); the virtio-net header that comes with each frame carries that
state, and sending the frame with its header back lets the kernel finish it on the other side.
"""
import errno
import heapq
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


def open_side(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main():
    host_if, lan_if, lan_peer, bridge = sys.argv[1:5]
    delay_ms = float(sys.argv[5])
    host, lan = open_side(host_if), open_side(lan_if)
    subprocess.run(['ip', 'link', 'set', host_if, 'nomaster'], check=True)
    subprocess.run(['ip', 'link', 'set', lan_peer, 'master', bridge], check=True)
    waiting = []  # (due, n, frame): from the host, to the LAN
    n = 0
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        timeout = max(0.0, waiting[0][0] - time.monotonic()) if waiting else None
        readable, _, _ = select.select([host, lan, sys.stdin], [], [], timeout)
        for s in readable:
            if s is sys.stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                delay_ms = max(0.0, float(line))
                continue
            while True:
                try:
                    frame, addr = s.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own copy, seen leaving
                if s is host:
                    n += 1
                    heapq.heappush(waiting, (time.monotonic() + delay_ms / 1000, n, frame))
                else:
                    send(host, frame)
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            send(lan, heapq.heappop(waiting)[2])


def send(s, frame):
    try:
        s.send(frame)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.ENOBUFS):
            raise
        # a full queue drops the frame, as a congested link would

if __name__ == '__main__':
    try:
        main()
    except (OSError, subprocess.CalledProcessError) as err:  # an interface gone with the site
        sys.stderr.write(f'delay-wire: {err}\n')
        sys.exit(1)
    except KeyboardInterrupt:
        pass
