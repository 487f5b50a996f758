"""The state store: what must survive a restart (feeds, seen keys, ledger, groups, stories,
dead letters). Beam wrappers: beam.StoreDoFn, beam.WriteDeadLetters, beam.CommitCycle."""
