// swift-tools-version:6.1
// daxpin: which memory can the kernel pin long-term for DMA, and does it refuse filesystem-DAX?
import PackageDescription

let package = Package(
  name: "daxpin",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "daxpin", targets: ["daxpin"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
  ],
  targets: [
    // libndctl + libdaxctl: the NVDIMM bus / region / namespace and dax region / device walk.
    .systemLibrary(
      name: "CDaxctl", pkgConfig: "libndctl",
      providers: [.apt(["libndctl-dev", "libdaxctl-dev"])]),
    // zlib: only to inflate /proc/config.gz.
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // ioctl request numbers and one typed wrapper per VFIO / iommufd / io_uring call.
    .target(name: "CVFIO", cSettings: [.define("_GNU_SOURCE")]),
    // libibverbs through pkg-config (libibverbs-dev). Only the tests depend on it, to hold CRDMA's
    // and the seam's constants to the real verbs.h: SwiftPM links a system library's pkg-config
    // libraries into everything that depends on it, and daxpin must start without libibverbs.
    .systemLibrary(
      name: "CIBVerbs", pkgConfig: "libibverbs",
      providers: [.apt(["libibverbs-dev", "ibverbs-providers"])]),
    // The RDMA verbs the probe uses, looked up in libibverbs.so.1 with dlopen at run time; it
    // compiles against libibverbs-dev's <infiniband/verbs.h> in the system include path.
    .target(name: "CRDMA", cSettings: [.define("_GNU_SOURCE")], linkerSettings: [.linkedLibrary("dl")]),
    // Pure Swift: vocabulary, the Kernel seam, the probe engine, expectations, reports.
    .target(
      name: "DaxPinCore",
      dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
    // The real backend: the only module that makes syscalls.
    .target(
      name: "DaxPinLinux",
      dependencies: [
        "DaxPinCore", "CVFIO", "CDaxctl", "CZlib", "CRDMA",
        .product(name: "SystemPackage", package: "swift-system"),
      ]),
    // The fake-device backend: a simulated kernel behind the same seam, with kernel profiles.
    .target(
      name: "DaxPinFake",
      dependencies: ["DaxPinCore", .product(name: "SystemPackage", package: "swift-system")]),
    // libvirt domain XML for `daxpin check libvirt`: a small XML 1.0 parser in plain Swift (no
    // Foundation, libxml2 or ICU in the static binary), kept out of the probe's path.
    .target(name: "DaxPinXML", dependencies: ["DaxPinCore"]),
    // The version, the commit and scripts/lab/init, compiled in by the EmbedBuildInfo plugin
    // (its tool: daxpin-embed) so an installed daxpin needs nothing from the source tree. Only
    // the CLI depends on it: a new commit recompiles that module alone.
    .executableTarget(name: "daxpin-embed", path: "Sources/daxpin-embed"),
    .plugin(name: "EmbedBuildInfo", capability: .buildTool(), dependencies: ["daxpin-embed"]),
    .target(name: "DaxPinBuildInfo", plugins: ["EmbedBuildInfo"]),
    // Host side of the kernel lab: fetch kernels, build the initramfs, run QEMU, collect reports.
    .target(name: "DaxPinLab", dependencies: ["DaxPinCore", "DaxPinLinux", "DaxPinFake", "CZlib", .product(name: "SystemPackage", package: "swift-system")]),
    .executableTarget(
      name: "daxpin",
      dependencies: [
        "DaxPinCore", "DaxPinLinux", "DaxPinLab", "DaxPinFake", "DaxPinXML", "DaxPinBuildInfo",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .testTarget(name: "DaxPinCoreTests", dependencies: ["DaxPinCore"]),
    .testTarget(
      name: "DaxPinLinuxTests", dependencies: ["DaxPinLinux", "DaxPinCore", "CVFIO", "CIBVerbs"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "DaxPinFakeTests", dependencies: ["DaxPinFake", "DaxPinCore"], exclude: ["Fixtures"]),
    .testTarget(
      name: "DaxPinCheckTests", dependencies: ["DaxPinCore", "DaxPinXML", "DaxPinFake", .product(name: "SystemPackage", package: "swift-system")],
      exclude: ["Fixtures"]),
    .testTarget(name: "DaxPinLabTests", dependencies: ["DaxPinLab", "DaxPinCore", "DaxPinLinux", "DaxPinFake", "DaxPinBuildInfo"]),
    .testTarget(name: "daxpinTests", dependencies: ["daxpin", "DaxPinCore", "DaxPinBuildInfo"], exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
