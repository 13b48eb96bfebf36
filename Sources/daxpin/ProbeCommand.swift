import ArgumentParser

struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "probe", abstract: "Pin memory kinds through each interface and judge the kernel's answer.")
  func run() throws { throw Exit.toolFailure("probe is not built yet") }
}
