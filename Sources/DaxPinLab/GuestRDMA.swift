import FoundationEssentials

/// What the guest needs for the `rdma` and `rdma-odp` probes over soft-RoCE: the `rdma` tool
/// (iproute2) to add `rxe0` on a dummy netdev, the rxe provider plugin that libibverbs loads
/// (`librxe-rdmav*.so`, which brings libibverbs.so.1 and libnl through its own libraries — daxpin
/// itself loads libibverbs with dlopen, so ldd of daxpin does not name it) and the
/// `/etc/libibverbs.d/rxe.driver` file that tells libibverbs to load it. Every file lands at its
/// host path, where libibverbs looks for it.
enum GuestRDMA {
  /// The `rdma` tool, by the name the init script calls it.
  static let tool = (guestPath: "/sbin/rdma", candidates: ["/usr/bin/rdma", "/sbin/rdma", "/bin/rdma"])
  static let driverFile = "/etc/libibverbs.d/rxe.driver"
  static let providerDirectories = ["/usr/lib/x86_64-linux-gnu/libibverbs", "/usr/lib64/libibverbs", "/usr/lib/libibverbs"]

  /// The rxe provider plugin on this host.
  static func provider() -> String? {
    let fm = FileManager.default
    for dir in providerDirectories {
      let names = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("librxe-rdmav") && $0.hasSuffix(".so") }.sorted()
      if let n = names.last { return dir + "/" + n }
    }
    return nil
  }

  /// (guest path, host path, executable) of the tool, the provider and the driver file; the shared
  /// libraries of the tool and the provider are added by the caller from ldd. Throws with the
  /// package to install when one is missing.
  static func files() throws(LabError) -> [(guest: String, host: String, executable: Bool)] {
    let fm = FileManager.default
    guard let rdma = tool.candidates.first(where: { fm.fileExists(atPath: $0) }) else {
      throw .setup("the rdma tool is not installed: apt-get install iproute2 (scripts/setup.sh)")
    }
    guard let provider = provider(), fm.fileExists(atPath: driverFile) else {
      throw .setup("the soft-RoCE provider (librxe-rdmav*.so, \(driverFile)) is not installed: apt-get install ibverbs-providers (scripts/setup.sh)")
    }
    return [(tool.guestPath, rdma, true), (provider, provider, true), (driverFile, driverFile, false)]
  }
}
