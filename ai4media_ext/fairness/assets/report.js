
(function(){
  var figs = JSON.parse(document.getElementById('figures').textContent);
  var cfg = {responsive: true, displaylogo: false};
  Object.keys(figs).forEach(function(id){
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, figs[id].data, figs[id].layout, cfg); }
  });
  function setAudience(a){
    document.body.setAttribute('data-audience', a);
    document.querySelectorAll('.plot').forEach(function(el){
      if (el.offsetParent !== null && el.data) { Plotly.Plots.resize(el); }
    });
  }
  document.querySelectorAll('input[name=audience]').forEach(function(r){
    r.addEventListener('change', function(){ if (r.checked) { setAudience(r.value); } });
  });
})();
