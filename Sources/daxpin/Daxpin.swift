import ArgumentParser
import DaxPinBuildInfo

/// daxpin: which memory can this kernel pin long-term for DMA, through which interface — and does
/// it refuse filesystem-DAX and allow device-DAX?
struct Daxpin: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "daxpin",
    abstract: "Probe which memory the kernel pins long-term for DMA (VFIO, iommufd, io_uring).",
    discussion: """
      An fsdax pin must be refused (EOPNOTSUPP): the filesystem could move blocks under DMA.
      A devdax pin should succeed. daxpin asks the kernel and judges what it did.

      Examples:
        daxpin inventory              what this host offers: IOMMU, VFIO, pmem, DAX mounts
        daxpin inventory --json       the same as one JSON object
        sudo daxpin probe             pin every memory kind through every interface
        journalctl -u libvirtd | daxpin explain -    name the cause of failed pins in a log
        daxpin check qemu -- ARGS     will this kernel pin a VM's memory for VFIO, and why
      """,
    version: BuildInfo.versionLine,
    subcommands: [
      InventoryCommand.self, ProbeCommand.self, BenchCommand.self, CheckCommand.self, ExplainCommand.self, LabCommand.self, ReportCommand.self,
      ContractCommand.self,
    ])
}

/// The version that goes into reports (`tool.version`): `BuildInfo.version`.
enum DaxpinVersion {
  static let string = BuildInfo.version
}
