import CVFIO
import Glibc

/// Keeps fds 0, 1 and 2 taken, so that no file daxpin opens lands on them.
///
/// A process started with stdout closed (`daxpin probe >&-`) would otherwise get fd 1 back from
/// its first open(2), and the report meant for stdout would go into that file: into the
/// temporary --output file, say, or be refused as a write to a read-only /proc file and lost.
/// `reserve()` puts an O_PATH descriptor of `/` on each closed one (fcntl(2) F_GETFD, open(2),
/// dup2(2)): it holds the number, and a write(2) to it fails with EBADF, which the writers
/// report (`daxpin: standard output: EBADF`, exit 2) as they would for the closed fd.
public enum StandardDescriptors {
  /// Call first thing in main, before anything opens a file.
  public static func reserve() {
    for fd: CInt in 0...2 where !system_isOpen(fd) {
      guard case .success(let placeholder) = system_open("/", CVFIO_O_PATH | O_DIRECTORY) else { return }
      _ = system_moveDescriptor(placeholder, to: fd)
    }
  }
}
