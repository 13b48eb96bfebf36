import SystemPackage

/// Removes what dead runs left behind: a run killed by SIGKILL (or a signal it cannot catch)
/// leaves its private directory, with 2 MiB files in it — in `/dev/shm` that is RAM. A directory
/// is removed only when every sign says it is a dead daxpin run's: the name `.daxpin-*`, a real
/// directory (not a symlink) owned by this user with no group or other access, an owner record
/// `owner-<pid>-<start time>` inside, and no live process with that pid and start time. Nothing
/// else is touched: a live run's directory, another user's, or one without an owner record.
struct LeftoverSweep {
  let kernel: any Kernel

  /// Sweeps `parent`; returns one notice per directory removed or left alone for a reason.
  func sweep(_ parent: String) -> [String] {
    guard case .success(let parentFD) = kernel.openDirectory(parent, in: nil) else { return [] }
    defer { kernel.close(parentFD) }
    guard case .success(let names) = kernel.entries(parentFD) else { return [] }
    let me = kernel.currentProcess()
    var notices: [String] = []
    for name in names.sorted() where name.hasPrefix(ScratchDirectory.prefix) {
      guard case .success(let dir) = kernel.openDirectory(name, in: parentFD) else { continue }
      defer { kernel.close(dir) }
      guard case .success(let st) = kernel.status(of: dir), st.type == .directory, st.owner == me.effectiveUID,
        st.permissions & 0o077 == 0, case .success(let inside) = kernel.entries(dir)
      else { continue }
      guard let record = inside.first(where: { $0.hasPrefix(ScratchDirectory.ownerRecordPrefix) }),
        let (pid, start) = Self.parse(record)
      else { continue }
      if pid == me.pid && start == me.startTime { continue }
      if case .success(let t) = kernel.processStartTime(pid), t == start { continue }
      var removed = true
      for entry in inside where entry != record {
        if case .failure = kernel.unlink(entry, in: dir, directory: false) { removed = false }
      }
      guard removed, case .success = kernel.unlink(record, in: dir, directory: false),
        case .success = kernel.unlink(name, in: parentFD, directory: true)
      else {
        notices.append("could not remove \(parent)/\(name), left by run \(pid) that no longer lives: remove it by hand")
        continue
      }
      let files = inside.count - 1
      notices.append("removed \(parent)/\(name) (\(files) file\(files == 1 ? "" : "s")), left by daxpin run \(pid) that no longer lives")
    }
    return notices
  }

  /// `owner-<pid>-<start time>` → (pid, start time).
  static func parse(_ record: String) -> (Int32, UInt64)? {
    let parts = record.dropFirst(ScratchDirectory.ownerRecordPrefix.count).split(separator: "-")
    guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
    return (pid, start)
  }
}
