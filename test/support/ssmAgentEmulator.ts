// Moved to src/sandbox so the demo can build the same sandboxes; tests keep importing from here.
export * from '../../src/sandbox/ssmAgentEmulator';
