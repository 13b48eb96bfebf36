import DaxPinLinux
import Glibc
import Synchronization
import SystemPackage

/// Runs host programs for the kernel lab (it lives with the lab, not with the real-kernel
/// backend, which holds only what stands behind the seam and the inventory readers) (apt-get, dpkg, depmod, QEMU) with posix_spawn.
/// Output goes to files, never to pipes, so a chatty child can never deadlock the parent.
public enum HostProcess {
  public struct Exit: Sendable, Equatable {
    /// The exit status, or nil when a signal ended the process.
    public var status: Int32?
    public var signal: Int32?
    /// User and system CPU seconds the process (and its reaped children) used, when reaped by
    /// `poll` or `wait`.
    public var cpuSeconds: Double?
    public var succeeded: Bool { status == 0 }
    public init(status: Int32?, signal: Int32?, cpuSeconds: Double? = nil) {
      self.status = status
      self.signal = signal
      self.cpuSeconds = cpuSeconds
    }
  }

  public struct Output: Sendable {
    public var exit: Exit
    public var stdout: String
    public var stderr: String
  }

  public struct SpawnError: Error, CustomStringConvertible {
    public var program: String
    public var errno: Errno
    public var description: String { "cannot run \(program): \(errno.name)\(errno == .noSuchFileOrDirectory ? " (not installed? run scripts/setup.sh)" : "")" }
  }

  /// Children started and not yet reaped, and scratch directories not yet removed: what
  /// `abandon()` cleans up when daxpin lab is interrupted. Each child leads its own process group
  /// (so a terminal's Ctrl-C reaches daxpin only), which is why nobody else would stop them.
  static let live = Mutex<(children: Set<pid_t>, scratch: Set<String>)>(([], []))

  /// SIGKILL to every live child's process group and removal of every scratch directory (for an
  /// interrupted lab); returns how many children there were.
  @discardableResult
  public static func abandon() -> Int {
    let (children, scratch) = live.withLock { l in
      defer { l = ([], []) }
      return (l.children, l.scratch)
    }
    for pid in children {
      _ = Glibc.kill(-pid, SIGKILL)
      _ = Glibc.kill(pid, SIGKILL)
    }
    for pid in children {
      var status: Int32 = 0
      _ = waitpid(pid, &status, 0)
    }
    for dir in scratch { removeTree(dir) }
    return children.count
  }

  /// Starts `argv` with stdout and stderr appended to files (or /dev/null); returns the pid.
  /// With `workingDirectory`, a shell changes into it and execs `argv` (glibc's
  /// posix_spawn_file_actions_addchdir_np is not visible to Swift).
  public static func spawn(_ argv: [String], stdout: String = "/dev/null", stderr: String = "/dev/null", workingDirectory: String? = nil) throws -> pid_t {
    let argv = workingDirectory.map { ["/bin/sh", "-c", "cd -- \"$0\" && exec \"$@\"", $0] + argv } ?? argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    // The child starts with default signal handling and nothing blocked, whatever daxpin set.
    var all = sigset_t()
    sigfillset(&all)
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attr, 0)
    var cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var pid: pid_t = 0
    var rc = posix_spawnp(&pid, argv[0], &actions, &attr, &cargs, environ)
    // ETXTBSY: the program was just written and a descriptor to it, open for writing, is still
    // held somewhere — typically inherited by a child another thread forked meanwhile, which
    // drops it at its exec. Wait for that, briefly.
    for _ in 0..<20 where rc == ETXTBSY {
      usleep(50_000)
      rc = posix_spawnp(&pid, argv[0], &actions, &attr, &cargs, environ)
    }
    guard rc == 0 else { throw SpawnError(program: argv[0], errno: Errno(rawValue: rc)) }
    live.withLock { _ = $0.children.insert(pid) }
    return pid
  }

  /// The exit of `pid` if it has ended (reaps it), nil while it runs.
  public static func poll(_ pid: pid_t) -> Exit? {
    var status: Int32 = 0
    var usage = rusage()
    let r = wait4(pid, &status, WNOHANG, &usage)
    guard r == pid else { return nil }
    live.withLock { _ = $0.children.remove(pid) }
    var exit = decode(status)
    exit.cpuSeconds = seconds(usage)
    return exit
  }

  /// Waits for `pid`, retrying EINTR.
  public static func wait(_ pid: pid_t) -> Exit {
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) == -1 && Glibc.errno == EINTR {}
    live.withLock { _ = $0.children.remove(pid) }
    var exit = decode(status)
    exit.cpuSeconds = seconds(usage)
    return exit
  }

  /// SIGKILL to the child's process group, then reaps it.
  public static func kill(_ pid: pid_t) {
    _ = Glibc.kill(-pid, SIGKILL)
    _ = Glibc.kill(pid, SIGKILL)
    _ = wait(pid)
  }

  static func seconds(_ u: rusage) -> Double {
    Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
  }

  static func decode(_ status: Int32) -> Exit {
    let sig = status & 0x7f
    return sig == 0 ? Exit(status: (status >> 8) & 0xff, signal: nil) : Exit(status: nil, signal: sig)
  }

  /// Runs `argv` to completion and returns what it printed.
  public static func run(_ argv: [String], workingDirectory: String? = nil) throws -> Output {
    let dir = try scratchDirectory()
    defer { _ = removeTree(dir) }
    let pid = try spawn(argv, stdout: dir + "/out", stderr: dir + "/err", workingDirectory: workingDirectory)
    let exit = wait(pid)
    return Output(exit: exit, stdout: readFile(dir + "/out") ?? "", stderr: readFile(dir + "/err") ?? "")
  }

  /// A new private directory under $TMPDIR or /tmp (`mkdtemp(3)`: mode 0700, a name no one
  /// else can have taken).
  public static func scratchDirectory() throws -> String {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/.daxpin-lab-XXXXXX".utf8CString)
    return try template.withUnsafeMutableBufferPointer { buf in
      guard let p = mkdtemp(buf.baseAddress!) else { throw SpawnError(program: "mkdtemp \(base)", errno: Errno(rawValue: Glibc.errno)) }
      let dir = String(cString: p)
      live.withLock { _ = $0.scratch.insert(dir) }
      return dir
    }
  }

  /// The whole file as text (up to 256 MiB); nil when it cannot be read.
  public static func readFile(_ path: String) -> String? {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count < 256 << 20 {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && Glibc.errno == EINTR { continue }
      guard n > 0 else { return n == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
      bytes.append(contentsOf: chunk[..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// `rm -rf path` without following symlinks out of the tree.
  @discardableResult
  public static func removeTree(_ path: String) -> Bool {
    live.withLock { _ = $0.scratch.remove(path) }
    guard let pid = try? spawn(["rm", "-rf", "--one-file-system", "--", path]) else { return false }
    return wait(pid).succeeded
  }
}
