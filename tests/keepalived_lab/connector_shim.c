/* Preloaded into keepalived by tests/process_tracking_lab.rs: makes keepalived's process
 * events socket (socket(AF_NETLINK, ..., NETLINK_CONNECTOR)) in the network namespace named
 * by $VST_CONNECTOR_NETNS (the test's own, the host's initial one, the only one where the
 * kernel's connector answers), and every other socket where keepalived runs (the lab's
 * namespace).
 *
 * keepalived 2.2.7 does the same itself with `net_namespace` (it opens the socket before
 * entering the namespace), but Debian builds it without namespace support, so without this
 * its track_process would fail with ECONNREFUSED in the lab, as it does in a container.
 * Our daemon opens its socket in the initial namespace itself (server/net/proc_events.rs),
 * so both sides follow processes the same way. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);
	int here, initial, fd, saved;

	if (!real_socket)
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	if (domain != AF_NETLINK || protocol != NETLINK_CONNECTOR)
		return real_socket(domain, type, protocol);

	if (!getenv("VST_CONNECTOR_NETNS"))
		return real_socket(domain, type, protocol);
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	initial = open(getenv("VST_CONNECTOR_NETNS"), O_RDONLY | O_CLOEXEC);
	if (here < 0 || initial < 0 || setns(initial, CLONE_NEWNET) != 0) {
		if (here >= 0)
			close(here);
		if (initial >= 0)
			close(initial);
		return real_socket(domain, type, protocol);
	}
	fd = real_socket(domain, type, protocol);
	saved = errno;
	/* Back where keepalived runs; failing that, its VRRP sockets would be in the wrong
	 * namespace, so stop here rather than run half wrong. */
	if (setns(here, CLONE_NEWNET) != 0)
		_exit(97);
	close(here);
	close(initial);
	errno = saved;
	return fd;
}
