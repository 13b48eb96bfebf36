import ArgumentParser
import DaxPinLinux

/// daxpin: which memory can this kernel pin long-term for DMA, through which interface — and does
/// it refuse filesystem-DAX and allow device-DAX?
@main
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
      """,
    version: DaxpinVersion.string,
    subcommands: [InventoryCommand.self, ProbeCommand.self, LabCommand.self, ReportCommand.self, ContractCommand.self])

  /// Takes fds 0-2 if they were closed (so no file lands on fd 1), then runs the command.
  static func main() {
    StandardDescriptors.reserve()
    main(nil)
  }
}

enum DaxpinVersion {
  static let string = "0.1.0"
}
