import DaxPinCore

/// The cells of a full probe run: every interface × memory kind × access.
let fullRunCells = Interface.allCases.count * MemoryKind.allCases.count * Access.allCases.count
