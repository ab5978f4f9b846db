"""Independent policy iteration on an `hjb mdp --export` file (needs h5py, numpy, scipy; not run by CI).

Usage: python3 validation/scripts/independent_pi.py output/lqr_1d_discounted_mdp.h5
Prints the iterations, the largest difference from /mdp/value, the error against the Riccati
value P x^2 of problems/lqr_1d_discounted.toml on [-1, 1], and the Bellman residual."""
import h5py, numpy as np, sys
import scipy.sparse as sp, scipy.sparse.linalg as spla
f=h5py.File(sys.argv[1])
g=f['mdp']; gamma=f.attrs['discount']
cost=g['cost'][()]; N,A=cost.shape
P=[sp.csr_matrix((g['transitions'][str(a)]['data'][()],g['transitions'][str(a)]['indices'][()],g['transitions'][str(a)]['indptr'][()]),shape=(N,N)) for a in range(A)]
pol=np.zeros(N,dtype=int)
for it in range(200):
    rows=sp.vstack([P[pol[x]].getrow(x) for x in range(N)]).tocsc()
    V=spla.spsolve(sp.identity(N,format='csc')-gamma*rows, cost[np.arange(N),pol])
    Q=np.stack([cost[:,a]+gamma*(P[a]@V) for a in range(A)],axis=1)
    new=Q.argmin(axis=1); cur=Q[np.arange(N),pol]
    better=Q[np.arange(N),new] < cur-1e-12*(1+abs(cur))
    if not better.any(): break
    pol=np.where(better,new,pol)
x=g['states'][()][:,0]
Pr=(0.9+np.sqrt(0.81+4))/2
print('python PI: %d iterations; max |V_python - /mdp/value| = %.3e; max |V - P x^2| on [-1,1] = %.4e; Bellman residual %.2e'%(it+1,abs(V-g['value'][()]).max(),abs(V-Pr*x**2)[abs(x)<=1].max(),abs(Q.min(axis=1)-V).max()))
