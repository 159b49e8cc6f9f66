# Writes the .npy files of model/data's tests with NumPy's own writer:
#   cd model/data/testdata && python3 make_npy.py
# (made with Debian's python3-numpy 1.24).
import numpy as np
from numpy.lib import format as F

x = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 10) / 8
for name, arr, ver in [("f4_v1.npy", x.astype("<f4"), (1, 0)),
                       ("f8_v2.npy", x.astype("<f8"), (2, 0)),
                       ("f4_v3.npy", x.astype("<f4"), (3, 0))]:
    with open(name, "wb") as f:
        F.write_array(f, arr, version=ver)
np.save("be.npy", x.astype(">f4"))
np.save("fortran.npy", np.asfortranarray(x.astype("<f4")))
np.save("int.npy", np.arange(6, dtype="<i4"))
