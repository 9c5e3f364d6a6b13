import { stateStoreContract } from "../../state/store-contract.js";
import { useStoreFiles } from "./temp-dir.js";

const files = useStoreFiles();

stateStoreContract("sqliteStore", (o) => files.open(undefined, o));
