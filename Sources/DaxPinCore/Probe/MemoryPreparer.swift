import SystemPackage

/// A buffer of one memory kind, mapped, confirmed and faulted in, ready to be pinned.
struct PreparedMemory {
  var mapping: Mapping
  /// The file behind the mapping (for IOMMU_IOAS_MAP_FILE); nil for anonymous memory.
  var file: FileDescriptor?
  var description: MemoryDescription
}

/// Why a memory kind could not be had on this host.
struct Unavailable: Error {
  var outcome: Outcome
  var reason: String
  var hint: String?
  var errno: Errno?
}

/// Establishes each memory kind through the kernel seam: creates it, confirms it independently,
/// faults it in, and registers every undo with `cleanup`. Writes only inside temporary
/// directories it creates; device-DAX is read-faulted, never written.
struct MemoryPreparer {
  let kernel: any Kernel
  let targets: ProbeTargets
  let cleanup: Cleanup
  /// The run's private directory under each parent directory, made on first use.
  var scratch: [String: ScratchDirectory] = [:]

  init(kernel: any Kernel, targets: ProbeTargets, cleanup: Cleanup) {
    self.kernel = kernel
    self.targets = targets
    self.cleanup = cleanup
  }

  mutating func prepare(_ kind: MemoryKind, access: Access, cellCleanup: Cleanup) -> Result<PreparedMemory, Unavailable> {
    do {
      var memory = try establish(kind, cellCleanup: cellCleanup)
      let write = kind.faultsByWriting
      try check(kernel.fault(memory.mapping, pageSize: kind == .hugetlb2m ? 2 << 20 : 4096, write: write), "fault in")
      memory.description.faulted = write ? "write" : "read"
      if kind == .devdaxKmem { try confirmMovable(memory) }
      if access == .ro {
        try check(kernel.protect(memory.mapping, .read), "mprotect(PROT_READ)")
      }
      return .success(memory)
    } catch let u as Unavailable {
      return .failure(u)
    } catch {
      return .failure(Unavailable(outcome: .setupFailed, reason: "\(error)"))
    }
  }

  private func check(_ r: Result<Void, Errno>, _ what: String) throws {
    if case .failure(let e) = r {
      // EFBIG: RLIMIT_FSIZE is below the buffer (SIGXFSZ is ignored, so the call fails instead).
      throw Unavailable(
        outcome: .setupFailed, reason: "\(what) failed: \(e.name)",
        hint: e == .fileTooLarge ? "RLIMIT_FSIZE is below the \(targets.bufferSize >> 20) MiB buffer: ulimit -f unlimited" : nil, errno: e)
    }
  }

  private func mapped(_ r: Result<Mapping, Errno>, cellCleanup: Cleanup, kind: MemoryKind) throws -> Mapping {
    switch r {
    case .success(let m):
      cellCleanup.add("munmap") { _ = kernel.unmap(m) }
      return m
    case .failure(let e) where kind == .hugetlb2m && e == .noMemory:
      throw Unavailable(
        outcome: .resourceLimited, reason: "mmap(MAP_HUGETLB) failed with ENOMEM: the 2 MiB pool is empty",
        hint: "sysctl vm.nr_hugepages=8", errno: e)
    case .failure(let e):
      throw Unavailable(outcome: .setupFailed, reason: "mmap failed: \(e.name)", errno: e)
    }
  }

  private mutating func establish(_ kind: MemoryKind, cellCleanup: Cleanup) throws -> PreparedMemory {
    let size = targets.bufferSize
    switch kind {
    case .anon:
      let m = try mapped(kernel.map(length: size, protection: .readWrite, source: .anonymous(hugetlb: false)), cellCleanup: cellCleanup, kind: kind)
      let vma = try vmaInfo(m)
      guard vma.path.isEmpty || vma.path.hasPrefix("[") else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps shows \(vma.path) behind an anonymous mapping")
      }
      return PreparedMemory(mapping: m, file: nil, description: MemoryDescription(kind: kind, size: size, confirmedBy: "smaps: no backing file"))

    case .hugetlb2m:
      guard targets.hugetlbFree2M > 0 else {
        throw Unavailable(outcome: .resourceLimited, reason: "no free 2 MiB huge pages", hint: "sysctl vm.nr_hugepages=8")
      }
      let m = try mapped(kernel.map(length: size, protection: .readWrite, source: .anonymous(hugetlb: true)), cellCleanup: cellCleanup, kind: kind)
      let vma = try vmaInfo(m)
      guard vma.flags.contains("ht") else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps VmFlags lack ht: the mapping is not hugetlb")
      }
      return PreparedMemory(mapping: m, file: nil, description: MemoryDescription(kind: kind, size: size, confirmedBy: "smaps VmFlags ht"))

    case .memfd:
      let fd = try opened(kernel.memfdCreate(name: "daxpin"), cellCleanup: cellCleanup, what: "memfd_create")
      try check(kernel.truncate(fd, length: size), "ftruncate")
      let m = try mapped(kernel.map(length: size, protection: .readWrite, source: .file(fd, shared: true)), cellCleanup: cellCleanup, kind: kind)
      let vma = try vmaInfo(m)
      guard vma.path.hasPrefix("/memfd:") else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps shows \(vma.path), not a memfd")
      }
      return PreparedMemory(mapping: m, file: fd, description: MemoryDescription(kind: kind, size: size, path: vma.path, confirmedBy: "smaps: /memfd:"))

    case .tmpfsShared:
      guard let dir = targets.tmpfsDirectory else {
        throw Unavailable(outcome: .unsupported, reason: "no tmpfs directory")
      }
      let fs = try filesystem(dir)
      guard fs.magic == .tmpfs else {
        throw Unavailable(outcome: .unsupported, reason: "\(RawPath.display(dir)) is \(fs.magic), not tmpfs", hint: "mount tmpfs on /dev/shm")
      }
      return try fileBacked(kind, in: dir, dax: false, size: size, shared: true, cellCleanup: cellCleanup, confirmedBy: "statfs TMPFS_MAGIC on \(RawPath.display(dir))").prepared

    case .pagecacheShared, .pagecachePrivate:
      guard let dir = targets.pagecacheDirectory else {
        throw Unavailable(outcome: .unsupported, reason: "no page-cache directory", hint: "--pagecache-dir PATH on ext4 or xfs")
      }
      let fs = try filesystem(dir)
      guard fs.isDiskBacked else {
        throw Unavailable(
          outcome: .unsupported, reason: "\(RawPath.display(dir)) is on \(fs.magic), not a disk-backed filesystem: no page-cache control there",
          hint: "--pagecache-dir PATH on ext4, xfs or btrfs on a block device, mounted without dax")
      }
      let memory = try fileBacked(kind, in: dir, dax: false, size: size, shared: kind == .pagecacheShared, cellCleanup: cellCleanup, confirmedBy: "statfs \(fs.magic)\(fs.blockBacked ? " on a block device" : ""), statx without DAX")
      if memory.dax == true {
        throw Unavailable(
          outcome: .unsupported, reason: "\(RawPath.display(dir)) is a DAX mount: no page cache there",
          hint: "--pagecache-dir PATH on a filesystem mounted without dax")
      }
      return memory.prepared

    case .fsdaxExt4Shared, .fsdaxExt4Private, .fsdaxExt4PrivateCow, .fsdaxXfsShared, .fsdaxXfsPrivate, .fsdaxXfsPrivateCow:
      let fs = kind.fsdaxFilesystem!
      guard let dir = targets.fsdaxDirectories[fs] else {
        throw Unavailable(
          outcome: .unsupported, reason: "no \(fs) filesystem mounted with -o dax",
          hint: "mount \(fs) on a pmem namespace with -o dax and pass --fsdax-dir, or run `daxpin lab`")
      }
      let memory = try fileBacked(kind, in: dir, dax: true, size: size, shared: kind.isShared, cellCleanup: cellCleanup, confirmedBy: "statx STATX_ATTR_DAX")
      switch (memory.dax, memory.daxFlag) {
      case (true, _): return memory.prepared
      case (nil, _):
        throw Unavailable(
          outcome: .unsupported, reason: "statx does not report STATX_ATTR_DAX on this kernel (before 5.8): DAX cannot be confirmed in \(RawPath.display(dir))")
      case (false, .failure(let e)?):
        throw Unavailable(
          outcome: .unsupported,
          reason: "a file in \(RawPath.display(dir)) is not DAX, and FS_IOC_FSSETXATTR could not set FS_XFLAG_DAX on daxpin's directory (\(e.name))",
          hint: "mount \(fs) with -o dax=always, or -o dax=inode on a filesystem that supports the per-file flag")
      case (false, _):
        throw Unavailable(
          outcome: .unsupported,
          reason: "a file in \(RawPath.display(dir)) is not DAX although FS_XFLAG_DAX is set on daxpin's directory: the filesystem is not mounted with dax=always or dax=inode, or its block device does not support DAX",
          hint: "mount \(fs) on a pmem namespace (fsdax mode) with -o dax, or run `daxpin lab`")
      }

    case .devdaxKmem:
      guard let node = targets.kmemNode else {
        throw Unavailable(
          outcome: .unsupported, reason: "no --kmem-node: devdax-kmem needs a NUMA node of device-DAX memory onlined movable as System RAM",
          hint: "daxctl reconfigure-device --mode=system-ram daxX.Y (movable is the default), then --kmem-node N (its target_node), or run `daxpin lab`")
      }
      let m = try mapped(kernel.map(length: size, protection: .readWrite, source: .anonymous(hugetlb: false)), cellCleanup: cellCleanup, kind: kind)
      if case .failure(let e) = kernel.bindMemory(m, node: node) {
        throw Unavailable(
          outcome: e == .invalidArgument ? .unsupported : .setupFailed,
          reason: "mbind(MPOL_BIND) to node \(node) failed: \(e.name)\(e == .invalidArgument ? ": the node has no memory this process may use" : "")", errno: e)
      }
      return PreparedMemory(
        mapping: m, file: nil,
        description: MemoryDescription(kind: kind, size: size, confirmedBy: "mbind MPOL_BIND node \(node); pagemap: every frame in ZONE_MOVABLE"))

    case .devdax:
      guard let dev = targets.devdax else {
        throw Unavailable(
          outcome: .unsupported, reason: "no device-DAX device (/dev/daxX.Y)",
          hint: "ndctl create-namespace -m devdax, then --devdax /dev/daxX.Y, or run `daxpin lab`")
      }
      switch kernel.characterDevice(dev.path) {
      case .success(let c) where c.isDeviceDAX: break
      case .success(let c):
        throw Unavailable(outcome: .setupFailed, reason: "\(dev.path) is character device \(c.number), not device-DAX")
      case .failure(let e):
        throw Unavailable(outcome: .setupFailed, reason: "\(dev.path): \(e.name)", errno: e)
      }
      let length = max(size, dev.align)
      let fd = try opened(kernel.open(dev.path, writable: true), cellCleanup: cellCleanup, what: "open \(dev.path)")
      let m = try mapped(kernel.map(length: length, protection: .readWrite, source: .file(fd, shared: true)), cellCleanup: cellCleanup, kind: kind)
      return PreparedMemory(
        mapping: m, file: fd, description: MemoryDescription(kind: kind, size: length, path: dev.path, confirmedBy: "S_ISCHR, sysfs subsystem dax, align \(dev.align)"))
    }
  }

  /// `devdax-kmem` is what it claims only if every page the node gave is in ZONE_MOVABLE.
  private func confirmMovable(_ memory: PreparedMemory) throws {
    let node = targets.kmemNode.map(String.init) ?? "?"
    switch FrameReading.read(kernel, memory.mapping) {
    case .failure(let e):
      throw Unavailable(outcome: .setupFailed, reason: "reading /proc/self/pagemap: \(e.name)", hint: e == .permissionDenied ? "run daxpin as root" : nil, errno: e)
    case .success(let f) where f.present < f.pages:
      throw Unavailable(
        outcome: .setupFailed, reason: "pagemap shows \(f.pages - f.present) of \(f.pages) pages without a frame after the fault (a frame number is hidden without CAP_SYS_ADMIN)",
        hint: "run daxpin as root")
    case .success(let f) where f.movable < f.pages:
      let first = f.firstNotMovable
      throw Unavailable(
        outcome: .unsupported,
        reason: "node \(node) gave \(f.pages - f.movable) of \(f.pages) pages outside ZONE_MOVABLE (pfn \(first?.pfn.map { "0x" + String($0, radix: 16) } ?? "?") in zone \(first?.zone ?? "unknown")): it is not device-DAX memory onlined movable",
        hint: "online the dax device's memory movable (daxctl reconfigure-device --mode=system-ram, movable by default) and pass its node with --kmem-node")
    case .success: return
    }
  }

  private func vmaInfo(_ m: Mapping) throws -> VMAInfo {
    switch kernel.vma(m) {
    case .success(let v): return v
    case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "reading smaps: \(e.name)", errno: e)
    }
  }

  private func filesystem(_ dir: String) throws -> FilesystemInfo {
    switch kernel.filesystem(dir) {
    case .success(let m): return m
    case .failure(let e) where e == .noSuchFileOrDirectory:
      throw Unavailable(outcome: .unsupported, reason: "\(RawPath.display(dir)) does not exist", errno: e)
    case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "statfs \(RawPath.display(dir)): \(e.name)", errno: e)
    }
  }

  private func opened(_ r: Result<FileDescriptor, Errno>, cellCleanup: Cleanup, what: String) throws -> FileDescriptor {
    switch r {
    case .success(let fd):
      cellCleanup.add("close") { kernel.close(fd) }
      return fd
    case .failure(let e) where e == .permissionDenied || e == .notPermitted:
      throw Unavailable(outcome: .setupFailed, reason: "\(what): \(e.name)", hint: "run daxpin as root", errno: e)
    case .failure(let e):
      throw Unavailable(outcome: .setupFailed, reason: "\(what): \(e.name)", errno: e)
    }
  }

  /// The run's private directory under `parent`, made once and removed by the run's cleanup
  /// after every file in it.
  private mutating func scratchDirectory(in parent: String, dax: Bool) throws -> ScratchDirectory {
    if let d = scratch[parent] { return d }
    let d = try ScratchDirectory.make(kernel: kernel, in: parent, dax: dax, cleanup: cleanup)
    scratch[parent] = d
    return d
  }

  /// A file-backed buffer and what statx said about the file.
  struct FileBacked {
    var prepared: PreparedMemory
    var dax: Bool?
    var daxFlag: Result<Void, Errno>?
  }

  /// A new file of `size` bytes in the run's directory under `dir`, mapped shared or private.
  private mutating func fileBacked(
    _ kind: MemoryKind, in dir: String, dax: Bool, size: Int, shared: Bool, cellCleanup: Cleanup, confirmedBy: String
  ) throws -> FileBacked {
    let scratch = try scratchDirectory(in: dir, dax: dax)
    let (fd, path): (FileDescriptor, String)
    switch scratch.create(kind.rawValue, cleanup: cellCleanup) {
    case .success(let f): (fd, path) = f
    case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "create a file in \(scratch.path): \(e.name)", errno: e)
    }
    try check(kernel.truncate(fd, length: size), "ftruncate")
    if case .failure(let e) = kernel.allocate(fd, length: size), e != .notSupported {
      throw Unavailable(outcome: .setupFailed, reason: "fallocate \(path): \(e.name)", errno: e)
    }
    let st: FileStatus
    switch kernel.status(of: fd) {
    case .success(let s): st = s
    case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "statx \(path): \(e.name)", errno: e)
    }
    let m = try mapped(kernel.map(length: size, protection: .readWrite, source: .file(fd, shared: shared)), cellCleanup: cellCleanup, kind: kind)
    return FileBacked(
      prepared: PreparedMemory(mapping: m, file: fd, description: MemoryDescription(kind: kind, size: size, path: path, confirmedBy: confirmedBy)),
      dax: st.dax, daxFlag: scratch.daxFlag)
  }
}
