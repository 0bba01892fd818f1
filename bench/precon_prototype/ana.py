import sys, numpy as np, scipy.stats as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if not l.startswith("#") and len(l.split()) == 7 and "[" not in l and "]" not in l]
a = np.array(rows)
print("n =", len(a))
ef, ep = a[:,1], a[:,4]
print("FIRE  E/N mean %.6f std %.6f  it mean %.0f  max fmax %.2e" % (ef.mean(), ef.std(ddof=1), a[:,2].mean(), a[:,3].max()))
print("pFIRE E/N mean %.6f std %.6f  it mean %.0f  max fmax %.2e" % (ep.mean(), ep.std(ddof=1), a[:,5].mean(), a[:,6].max()))
print("KS", st.ks_2samp(ef, ep))
dd = ep - ef
print("paired diff mean %.3g sem %.3g  ttest_rel p=%.3g  wilcoxon p=%.3g  same-min frac (|dE/N|<1e-9) %.2f" % (dd.mean(), dd.std(ddof=1)/np.sqrt(len(dd)), st.ttest_rel(ep, ef).pvalue, st.wilcoxon(ep, ef).pvalue, np.mean(np.abs(dd) < 1e-9)))
print("std of paired diff %.4g ; corr %.3f" % (dd.std(ddof=1), np.corrcoef(ef, ep)[0,1]))
print("iterations FIRE/pFIRE (sums) %.2f ; median per-start ratio %.2f" % (a[:,2].sum()/a[:,5].sum(), np.median(a[:,2]/a[:,5])))
