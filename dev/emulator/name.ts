/** The name of the one emulator object: `KALEYRA_EMULATOR.idFromName(EMULATOR_OBJECT_NAME)`. */
export const EMULATOR_OBJECT_NAME = "emulator";
