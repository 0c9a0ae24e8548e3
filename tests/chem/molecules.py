"""Reference molecules whose properties are known from outside RDKit (PubChem)."""

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
